/* The engine's public API: choosing and opening the backend, entering and leaving guest
 * mode, and what the engine tells about itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "kvm_vm.h"
#include "vcpu.h"

#define HOST_STACK_BYTES ((size_t)512 * 1024)
#define MAX_VCPUS 64 /* KVM's and kmod's limit is at least this */

static struct kvm_machine machine;
static int init_result = 1; /* 1: not tried yet */
static char last_error[256];
static char backend_name[8] = "kvm";
/* The VM's vCPUs, each with its own loop stack, and the one the calling thread runs
 * (NULL in host mode). A thread entering guest mode takes a free one, or a new one; it
 * gives it back when it leaves guest mode or ends (docs/engine.md, "Threads"). */
static struct vcpu vcpus[MAX_VCPUS];
static unsigned vcpu_count; /* published (release) once vcpus[vcpu_count - 1] is ready */
static __thread struct vcpu *current_vcpu;
static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER; /* vcpus[].owned, creation */
static uint64_t entries;                                       /* gcvm_info.entries */
/* gcvm_guest_stay(): the calling thread's stay in guest mode, the value entries took at
 * its entry (so unique in the process); meaningful only while it is in guest mode. */
static __thread uint64_t guest_stay;
static int thread_start = GCVM_THREADS_GUEST; /* where threads cloned in guest mode start */
static double guest_ns_per_insn, host_ns_per_insn;
static pid_t owner_pid; /* the process whose VM this is; a forked child has none */

const char *gcvm_last_error(void)
{
    return last_error;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A loop of 4 integer instructions an iteration, the same in both modes. */
static __attribute__((noinline)) void spin(long iterations)
{
    __asm__ volatile("1: add $1, %%rax; sub $1, %%rax; dec %0; jnz 1b"
                     : "+r"(iterations)
                     :
                     : "rax", "cc");
}

/* Nanoseconds for 4 x iterations instructions. Integer only: it also runs in guest
 * mode, where an emulated ring 0 may execute no SSE instruction (docs/engine.md). */
static uint64_t spin_ns(long iterations)
{
    spin(16); /* its page is mapped before timing */
    uint64_t t0 = now_ns();
    spin(iterations);
    return now_ns() - t0;
}

/* Decides whether guest ring 0 runs on hardware: an emulator is thousands of times
 * slower per instruction; hardware virtualization is within a small factor. The
 * arithmetic is done in host mode. */
enum { HOST_SPINS = 2000000, GUEST_SPINS = 3000 };
static void calibrate(void)
{
    host_ns_per_insn = (double)spin_ns(HOST_SPINS) / (4.0 * HOST_SPINS);
    if (gcvm_enter() != 0)
        return;
    uint64_t guest_ns = spin_ns(GUEST_SPINS);
    gcvm_exit();
    guest_ns_per_insn = (double)guest_ns / (4.0 * GUEST_SPINS);
    /* Extended state is saved around the program's fault handler only where guest code
     * can use it: an instruction emulator runs no SSE at all. */
    if (guest_ns_per_insn < 20 * host_ns_per_insn)
        gcvm_guest_state_save = machine.xsave ? GCVM_STATE_SAVE_XSAVE : GCVM_STATE_SAVE_FXSAVE;
}

/* Adds a vCPU to the VM, with its run loop's stack. 0 or -errno, with last_error set. */
static int add_vcpu(void)
{
    if (vcpu_count == MAX_VCPUS) {
        snprintf(last_error, sizeof last_error, "the VM has its %d vCPUs already", MAX_VCPUS);
        return -EBUSY;
    }
    struct vcpu *v = &vcpus[vcpu_count];
    int rc = kvm_create_vcpu(&machine, vcpu_count, v, last_error, sizeof last_error);
    if (rc != 0)
        return rc;
    char *stack = mmap(NULL, HOST_STACK_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        snprintf(last_error, sizeof last_error, "out of memory for the engine's stack");
        return -ENOMEM;
    }
    v->loop_stack_top = stack + HOST_STACK_BYTES;
    native_step_vcpu_init(v);
    __atomic_store_n(&vcpu_count, vcpu_count + 1, __ATOMIC_RELEASE);
    return 0;
}

struct vcpu *engine_vcpu_at(unsigned i)
{
    return i < __atomic_load_n(&vcpu_count, __ATOMIC_ACQUIRE) ? &vcpus[i] : NULL;
}

bool engine_hardware(void)
{
    return gcvm_guest_state_save != GCVM_STATE_SAVE_NONE;
}

int gcvm_init(void)
{
    if (init_result != 1)
        return init_result;
    const char *backend = getenv("GCVM_BACKEND");
    const char *trace = getenv("GCVM_TRACE");
    gcvm_trace_exits = trace && *trace && strcmp(trace, "0") != 0;
    const char *threads = getenv("GCVM_THREADS");
    if (threads && *threads) {
        if (strcmp(threads, "guest") != 0 && strcmp(threads, "host") != 0) {
            snprintf(last_error, sizeof last_error,
                     "GCVM_THREADS=%s is not a mode; use guest or host", threads);
            return init_result = -EINVAL;
        }
        thread_start = strcmp(threads, "host") == 0 ? GCVM_THREADS_HOST : GCVM_THREADS_GUEST;
    }
    if (!backend || !*backend)
        backend = "auto";
    if (strcmp(backend, "auto") != 0 && strcmp(backend, "kvm") != 0 &&
        strcmp(backend, "kmod") != 0) {
        snprintf(last_error, sizeof last_error,
                 "GCVM_BACKEND=%s is not a backend; use auto, kvm or kmod", backend);
        return init_result = -EINVAL;
    }
    /* auto prefers the module where /dev/gcvm exists and can make a VM now. */
    bool kmod = strcmp(backend, "kmod") == 0 ||
                (strcmp(backend, "auto") == 0 && kvm_device_usable(KMOD_DEVICE));
    int rc = kvm_create_machine(&machine, kmod ? KMOD_DEVICE : KVM_DEVICE, last_error,
                                sizeof last_error);
    if (rc == 0)
        rc = tlb_init(last_error, sizeof last_error);
    if (rc == 0)
        rc = add_vcpu();
    if (rc != 0)
        return init_result = rc;
    snprintf(backend_name, sizeof backend_name, "%s", kmod ? "kmod" : "kvm");
    owner_pid = getpid();
    init_result = 0;
    vdso_find_functions();
    calibrate();
    /* An emulated ring 0 runs no vector instruction: those run natively, one by one. */
    if (!engine_hardware() && (rc = native_step_init(last_error, sizeof last_error)) != 0)
        return init_result = rc;
    return 0;
}

/* The vCPU the calling thread runs: the one it holds already, else a free one, else a
 * new one; NULL (last_error says why) when the VM has no more. */
static struct vcpu *take_vcpu(void)
{
    if (current_vcpu)
        return current_vcpu;
    pthread_mutex_lock(&owner_lock);
    struct vcpu *v = NULL;
    for (unsigned i = 0; !v && i < vcpu_count; i++)
        if (!vcpus[i].owned)
            v = &vcpus[i];
    if (!v && add_vcpu() == 0)
        v = &vcpus[vcpu_count - 1];
    if (v) {
        v->owned = true;
        /* A thread that ended inside a fault handler (gcvm.h forbids it) left its depth
         * and its #PF stack moved down: the next owner starts with neither. */
        v->cpu->fault_depth = 0;
        memcpy(v->cpu->ist1_slot, &v->ist1_top, sizeof v->ist1_top);
        vcpu_drop_undelivered_exception(v);
        tlb_vcpu_taken(v);
        /* Before the vCPU runs: a guest that clears bits from now on sees it held. */
        __atomic_add_fetch(&gcvm_shared.vcpus_held, 1, __ATOMIC_SEQ_CST);
    }
    current_vcpu = v;
    pthread_mutex_unlock(&owner_lock);
    return v;
}

static void give_back_vcpu(void)
{
    pthread_mutex_lock(&owner_lock);
    if (current_vcpu) {
        current_vcpu->owned = false;
        __atomic_sub_fetch(&gcvm_shared.vcpus_held, 1, __ATOMIC_SEQ_CST);
    }
    current_vcpu = NULL;
    pthread_mutex_unlock(&owner_lock);
}

/* Why the calling thread cannot enter guest mode now (-errno, last_error set), or 0. */
static int cannot_enter(void)
{
    if (init_result != 0) {
        snprintf(last_error, sizeof last_error, "gcvm_enter() before a successful gcvm_init()");
        return -EINVAL;
    }
    if (getpid() != owner_pid) {
        snprintf(last_error, sizeof last_error,
                 "the engine belongs to process %d; a forked child cannot enter guest mode",
                 (int)owner_pid);
        return -EPERM;
    }
    return 0;
}

int gcvm_enter(void)
{
    int rc = cannot_enter();
    if (rc != 0)
        return rc;
    if (gcvm_in_guest())
        return 0;
    struct vcpu *v = take_vcpu();
    if (!v)
        return -EBUSY;
    guest_stay = __atomic_add_fetch(&entries, 1, __ATOMIC_RELAXED);
    struct saved_context ctx = {.vcpu = v};
    gcvm_arch_enter(&ctx, run_loop, v->loop_stack_top);
    return 0; /* in guest mode now */
}

int gcvm_set_thread_start(int where)
{
    if (where != GCVM_THREADS_GUEST && where != GCVM_THREADS_HOST)
        return -EINVAL;
    __atomic_store_n(&thread_start, where, __ATOMIC_RELAXED);
    return 0;
}

void engine_start_cloned_thread(struct clone_child *c)
{
    if (__atomic_load_n(&thread_start, __ATOMIC_RELAXED) != GCVM_THREADS_GUEST ||
        cannot_enter() != 0)
        return;
    struct vcpu *v = take_vcpu();
    if (!v)
        return; /* no vCPU left: the thread starts in host mode, as it may */
    guest_stay = __atomic_add_fetch(&entries, 1, __ATOMIC_RELAXED);
    /* As after the kernel's clone: the caller's registers, rax = 0; rcx and r11 are the
     * system call's to clobber. */
    struct kvm_regs r = {.rbx = c->rbx,
                         .rbp = c->rbp,
                         .r12 = c->r12,
                         .r13 = c->r13,
                         .r14 = c->r14,
                         .r15 = c->r15,
                         .rdi = c->rdi,
                         .rsi = c->rsi,
                         .rdx = c->rdx,
                         .r8 = c->r8,
                         .r9 = c->r9,
                         .r10 = c->r10,
                         .rcx = c->rip,
                         .r11 = RFLAGS_GUEST,
                         .rsp = c->rsp,
                         .rip = c->rip,
                         .rax = 0,
                         .rflags = RFLAGS_GUEST};
    __atomic_store_n(&c->started, 1, __ATOMIC_RELEASE); /* c may vanish from here on */
    struct saved_context ctx = {.vcpu = v, .start = &r};
    gcvm_arch_enter(&ctx, run_loop, v->loop_stack_top);
    __builtin_unreachable(); /* the guest continues at r.rip, never here */
}

int gcvm_exit(void)
{
    if (!gcvm_in_guest())
        return -EINVAL;
    gcvm_arch_exit();
    give_back_vcpu();
    return 0;
}

uint64_t gcvm_guest_stay(void)
{
    /* gcvm_in_guest() reads the CPL, so a thread that left behind the engine's back (a
     * longjmp out of a host-mode handler) reads 0 here although guest_stay is set. */
    return gcvm_in_guest() ? guest_stay : 0;
}

void engine_thread_ends(int status)
{
    give_back_vcpu();
    for (;;)
        syscall(SYS_exit, status);
}

void engine_forget_after_fork(void)
{
    signals_forget_thread();
    for (unsigned i = 0; i < vcpu_count; i++)
        vcpus[i].owned = false;
    gcvm_shared.vcpus_held = 0;
    current_vcpu = NULL;
}

int gcvm_get_info(struct gcvm_info *out)
{
    if (init_result != 0)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    snprintf(out->backend, sizeof out->backend, "%s", backend_name);
    out->guest_ns_per_insn = guest_ns_per_insn;
    out->host_ns_per_insn = host_ns_per_insn;
    out->hardware = engine_hardware();
    out->native_steps = gcvm_counters.native_steps;
    out->vcpus_held = __atomic_load_n(&gcvm_shared.vcpus_held, __ATOMIC_RELAXED);
    out->guest_phys_bits = machine.phys_bits;
    out->exits = gcvm_counters.exits;
    out->syscall_exits = gcvm_counters.syscall_exits;
    out->populate_exits = gcvm_counters.populate_exits;
    out->other_exits = gcvm_counters.other_exits;
    out->signals_delivered = gcvm_counters.signals_delivered;
    out->protection_faults = gcvm_shared.protection_faults;
    out->memslots = aspace_memslots();
    out->entries = __atomic_load_n(&entries, __ATOMIC_RELAXED);
    out->vcpus = __atomic_load_n(&vcpu_count, __ATOMIC_ACQUIRE);
    out->shootdowns = tlb_shootdowns();
    out->exceptions_dropped = gcvm_counters.exceptions_dropped;
    return 0;
}
