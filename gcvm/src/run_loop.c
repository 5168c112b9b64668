/* The host side of guest mode: runs the vCPU and serves its exits. It runs on its own
 * stack (gcvm_arch_enter) while the guest uses the thread's stack; the thread's TLS is
 * shared, so errno is saved and restored around everything done here. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "engine.h"

int gcvm_vcpu_fd;
struct kvm_run *gcvm_run;
bool gcvm_trace_exits;
struct engine_counters gcvm_counters;

static long raw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* ---- Crash reports ---- */

static const char *const vector_names[32] = {"divide error",
                                             "debug",
                                             "NMI",
                                             "breakpoint",
                                             "overflow",
                                             "bound range",
                                             "invalid opcode",
                                             "device not available",
                                             "double fault",
                                             "coprocessor overrun",
                                             "invalid TSS",
                                             "segment not present",
                                             "stack fault",
                                             "general protection",
                                             "page fault",
                                             "reserved",
                                             "x87 error",
                                             "alignment check",
                                             "machine check",
                                             "SIMD error",
                                             "virtualization",
                                             "control protection"};

static void print_symbol(uint64_t ip)
{
    Dl_info info;
    if (dladdr((void *)ip, &info) && info.dli_sname)
        fprintf(stderr, " %s+0x%lx (%s)", info.dli_sname,
                (unsigned long)(ip - (uint64_t)info.dli_saddr), info.dli_fname);
    else if (info.dli_fname)
        fprintf(stderr, " (%s+0x%lx)", info.dli_fname,
                (unsigned long)(ip - (uint64_t)info.dli_fbase));
}

/* Unwinds the guest's stack from the faulting registers: the memory is the process's. */
static void print_backtrace(const struct fault_frame *f)
{
    unw_context_t uc;
    unw_getcontext(&uc);
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)f->rip;
    uc.uc_mcontext.gregs[REG_RSP] = (greg_t)f->rsp;
    uc.uc_mcontext.gregs[REG_RBP] = (greg_t)f->rbp;
    uc.uc_mcontext.gregs[REG_RBX] = (greg_t)f->rbx;
    uc.uc_mcontext.gregs[REG_R12] = (greg_t)f->r12;
    uc.uc_mcontext.gregs[REG_R13] = (greg_t)f->r13;
    uc.uc_mcontext.gregs[REG_R14] = (greg_t)f->r14;
    uc.uc_mcontext.gregs[REG_R15] = (greg_t)f->r15;
    unw_cursor_t cursor;
    if (unw_init_local(&cursor, &uc) != 0)
        return;
    fprintf(stderr, "gcvm: backtrace:\n");
    for (int depth = 0; depth < 32; depth++) {
        unw_word_t ip;
        unw_get_reg(&cursor, UNW_REG_IP, &ip);
        fprintf(stderr, "gcvm:   #%d 0x%016lx", depth, (unsigned long)ip);
        char name[128];
        unw_word_t offset;
        if (unw_get_proc_name(&cursor, name, sizeof name, &offset) == 0)
            fprintf(stderr, " %s+0x%lx", name, (unsigned long)offset);
        else
            print_symbol(ip);
        fputc('\n', stderr);
        if (unw_step(&cursor) <= 0)
            break;
    }
}

static void __attribute__((noreturn))
crash(const char *what, const struct fault_frame *f, uint64_t cr2)
{
    fprintf(stderr, "gcvm: fatal: %s in guest mode", what);
    if (f) {
        fprintf(stderr, ": vector %lu (%s), error 0x%lx, address 0x%lx\n", (unsigned long)f->vector,
                f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "?",
                (unsigned long)f->error, (unsigned long)cr2);
        fprintf(stderr,
                "gcvm: rip %016lx rsp %016lx rflags %08lx\n"
                "gcvm: rax %016lx rbx %016lx rcx %016lx rdx %016lx\n"
                "gcvm: rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n"
                "gcvm: r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n"
                "gcvm: r13 %016lx r14 %016lx r15 %016lx\n",
                (unsigned long)f->rip, (unsigned long)f->rsp, (unsigned long)f->rflags,
                (unsigned long)f->rax, (unsigned long)f->rbx, (unsigned long)f->rcx,
                (unsigned long)f->rdx, (unsigned long)f->rsi, (unsigned long)f->rdi,
                (unsigned long)f->rbp, (unsigned long)f->r8, (unsigned long)f->r9,
                (unsigned long)f->r10, (unsigned long)f->r11, (unsigned long)f->r12,
                (unsigned long)f->r13, (unsigned long)f->r14, (unsigned long)f->r15);
        fprintf(stderr, "gcvm: at");
        print_symbol(f->rip);
        fputc('\n', stderr);
        print_backtrace(f);
    } else {
        fputc('\n', stderr);
    }
    fflush(stderr);
    abort();
}

static void crash_with_registers(const char *what)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    struct fault_frame f = {0};
    if (ioctl(gcvm_vcpu_fd, KVM_GET_REGS, &r) == 0 && ioctl(gcvm_vcpu_fd, KVM_GET_SREGS, &s) == 0) {
        f = (struct fault_frame){.r15 = r.r15,
                                 .r14 = r.r14,
                                 .r13 = r.r13,
                                 .r12 = r.r12,
                                 .r11 = r.r11,
                                 .r10 = r.r10,
                                 .r9 = r.r9,
                                 .r8 = r.r8,
                                 .rbp = r.rbp,
                                 .rdi = r.rdi,
                                 .rsi = r.rsi,
                                 .rdx = r.rdx,
                                 .rcx = r.rcx,
                                 .rbx = r.rbx,
                                 .rax = r.rax,
                                 .vector = 255,
                                 .rip = r.rip,
                                 .rflags = r.rflags,
                                 .rsp = r.rsp};
        crash(what, &f, s.cr2);
    }
    crash(what, NULL, 0);
}

/* ---- The vDSO ----
 * Its functions read the kernel's [vvar] page, which KVM cannot map. The vDSO's pages
 * are never mapped in the guest: a call faults on its first instruction, and the host
 * makes the equivalent system call and returns to the caller. */
struct vdso_function {
    const char *name;
    long syscall_nr;
    uint64_t address;
};
static struct vdso_function vdso_functions[] = {{"__vdso_clock_gettime", SYS_clock_gettime, 0},
                                                {"__vdso_gettimeofday", SYS_gettimeofday, 0},
                                                {"__vdso_time", SYS_time, 0},
                                                {"__vdso_getcpu", SYS_getcpu, 0},
                                                {"__vdso_clock_getres", SYS_clock_getres, 0}};
static uint64_t vdso_start, vdso_end;

static void find_vdso_functions(void)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
    if (!eh)
        return;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
    uint64_t load_offset = 0;
    const Elf64_Dyn *dyn = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            load_offset = (uint64_t)eh + ph[i].p_offset - ph[i].p_vaddr;
            vdso_start = (uint64_t)eh;
            vdso_end = (uint64_t)eh + ((ph[i].p_memsz + PAGE - 1) & ~(PAGE - 1));
        }
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const Elf64_Dyn *)((const char *)eh + ph[i].p_offset);
    }
    const Elf64_Sym *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *hash = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB)
            symtab = (const Elf64_Sym *)(load_offset + dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_STRTAB)
            strtab = (const char *)(load_offset + dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_HASH)
            hash = (const uint32_t *)(load_offset + dyn->d_un.d_ptr);
    }
    if (!symtab || !strtab || !hash)
        return;
    for (uint32_t i = 0; i < hash[1]; i++)
        for (size_t k = 0; k < sizeof vdso_functions / sizeof vdso_functions[0]; k++)
            if (strcmp(strtab + symtab[i].st_name, vdso_functions[k].name) == 0)
                vdso_functions[k].address = load_offset + symtab[i].st_value;
}

/* Returns 1 if the fault was a call into the vDSO, now done. */
static int emulate_vdso_call(struct fault_frame *f)
{
    if (f->rip < vdso_start || f->rip >= vdso_end)
        return 0;
    for (size_t k = 0; k < sizeof vdso_functions / sizeof vdso_functions[0]; k++) {
        if (vdso_functions[k].address != f->rip)
            continue;
        f->rax = (uint64_t)raw_syscall6(vdso_functions[k].syscall_nr, (long)f->rdi, (long)f->rsi,
                                        (long)f->rdx, 0, 0, 0);
        f->rip = *(uint64_t *)f->rsp; /* return to the caller */
        f->rsp += 8;
        return 1;
    }
    crash("a vDSO function the engine does not know was called", f, f->rip);
}

/* ---- Hypercalls ---- */

static void serve_hypercall(uint64_t rdi)
{
    struct hypercall *hc = (struct hypercall *)rdi;
    switch (hc->op) {
    case HC_POPULATE:
        gcvm_counters.populate_exits++;
        if (hc->frame && emulate_vdso_call((struct fault_frame *)hc->frame)) {
            hc->result = 0;
            return;
        }
        if (hc->addr < vdso_end && hc->addr + hc->len > vdso_start) {
            hc->result = -EFAULT;
            return;
        }
        hc->result = aspace_populate(hc->addr, hc->len, hc->write != 0);
        return;
    case HC_CRASH:
        crash(hc->frame && hc->frame->vector == 14 ? "unhandled page fault" : "exception",
              hc->frame, hc->cr2);
    default: crash("unknown request from the guest runtime", NULL, 0);
    }
}

/* ---- System calls ---- */

/* Whether a successful call changes the host's mappings, and in which range. brk and
 * shmdt do not say which range they unmapped: for them only the cached copy of
 * /proc/self/maps is dropped (lo == hi). Entries left behind still map an address to the
 * same memory; only an access to memory the host no longer maps then fails in KVM
 * rather than with SIGSEGV. */
static bool changes_address_space(long nr, const struct kvm_regs *r, uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    switch (nr) {
    case SYS_munmap:
    case SYS_mprotect:
    case SYS_mremap: *lo = r->rdi, *hi = r->rdi + r->rsi; return true;
    case SYS_mmap:
        if (!(r->r10 & MAP_FIXED))
            return false;
        *lo = r->rdi, *hi = r->rdi + r->rsi;
        return true;
    case SYS_brk:
    case SYS_shmdt: return true;
    default: return false;
    }
}

static __attribute__((noreturn)) void leave_to_host(const struct kvm_regs *at_exit);

/* exit(2) of the thread in guest mode: it leaves guest mode, then exits in host mode on
 * its own stack, giving the vCPU back (gcvm_arch_thread_exit). Exiting here, on the
 * engine's stack, would keep the vCPU from every other thread. */
static __attribute__((noreturn)) void end_thread(const struct kvm_regs *at_call)
{
    struct kvm_regs r = *at_call;
    /* The guest did not store its MXCSR and x87 control word as gcvm_arch_exit does:
     * the thread keeps the host's, and runs no floating-point code before it ends. */
    __asm__ volatile("stmxcsr %0; fnstcw %1"
                     : "=m"(gcvm_guest_exit_mxcsr), "=m"(gcvm_guest_exit_fcw));
    r.rbx = r.rdi;
    r.rip = (uint64_t)gcvm_arch_thread_exit;
    leave_to_host(&r);
}

static void serve_syscall(struct kvm_regs *r)
{
    long nr = (long)r->rax, ret;
    gcvm_counters.syscall_exits++;
    uint64_t lo, hi;
    bool remap = changes_address_space(nr, r, &lo, &hi);
    if (nr == SYS_rt_sigreturn) {
        signals_sigreturn(gcvm_vcpu_fd, r); /* every register comes from the frame */
        return;
    }
    if (nr == SYS_exit)
        end_thread(r);
    if (processes_serve(r, &ret)) {
        /* done: the child, if any, runs in host mode */
    } else if (nr == SYS_rt_sigaction) {
        ret = signals_sigaction((int)r->rdi, (const struct kernel_sigaction *)r->rsi,
                                (struct kernel_sigaction *)r->rdx, (size_t)r->r10);
    } else if (nr == SYS_arch_prctl && (r->rdi == ARCH_SET_FS || r->rdi == ARCH_GET_FS)) {
        struct kvm_sregs s;
        ioctl(gcvm_vcpu_fd, KVM_GET_SREGS, &s);
        if (r->rdi == ARCH_SET_FS) {
            s.fs.base = r->rsi;
            ioctl(gcvm_vcpu_fd, KVM_SET_SREGS, &s);
        } else {
            *(uint64_t *)r->rsi = s.fs.base;
        }
        ret = 0;
    } else {
        ret = raw_syscall6(nr, (long)r->rdi, (long)r->rsi, (long)r->rdx, (long)r->r10, (long)r->r8,
                           (long)r->r9);
    }
    r->rax = (uint64_t)ret;
    r->rflags = r->r11; /* as SYSRET would */
    r->rip = r->rcx;
    if (remap && ret >= 0) { /* an error is negative; an address from mmap is not */
        aspace_invalidate(lo, hi - lo);
        r->rip = (uint64_t)gcvm_guest_flush_and_return;
    }
}

/* ---- The loop ---- */

static void enter_registers(const struct saved_context *ctx)
{
    struct kvm_regs r = {.rbx = ctx->rbx,
                         .rbp = ctx->rbp,
                         .r12 = ctx->r12,
                         .r13 = ctx->r13,
                         .r14 = ctx->r14,
                         .r15 = ctx->r15,
                         .rsp = ctx->rsp,
                         .rip = ctx->rip,
                         .rax = 0,
                         .rflags = RFLAGS_GUEST};
    if (ioctl(gcvm_vcpu_fd, KVM_SET_REGS, &r) != 0)
        crash("KVM refused the entering thread's registers", NULL, 0);
    struct kvm_sregs s;
    ioctl(gcvm_vcpu_fd, KVM_GET_SREGS, &s);
    uint64_t fs = 0;
    raw_syscall6(SYS_arch_prctl, ARCH_GET_FS, (long)&fs, 0, 0, 0, 0);
    s.fs.base = fs;
    ioctl(gcvm_vcpu_fd, KVM_SET_SREGS, &s);
    struct kvm_fpu fpu;
    ioctl(gcvm_vcpu_fd, KVM_GET_FPU, &fpu);
    uint32_t mxcsr;
    uint16_t fcw;
    __asm__ volatile("stmxcsr %0; fnstcw %1" : "=m"(mxcsr), "=m"(fcw));
    fpu.mxcsr = mxcsr;
    fpu.fcw = fcw;
    ioctl(gcvm_vcpu_fd, KVM_SET_FPU, &fpu);
}

static void __attribute__((noreturn)) leave_to_host(const struct kvm_regs *at_exit)
{
    signals_unwrap();
    struct kvm_regs r = *at_exit;
    /* The guest may have changed rounding or exception masks: gcvm_arch_exit stored them.
     * (KVM_GET_FPU is not to be trusted for it: KVM on VT-x under a kernel with XSAVE off
     * reported MXCSR 0.) An emulated ring 0 runs no floating-point code at all, so there
     * the host's stay. */
    if (gcvm_guest_state_save != STATE_SAVE_NONE) {
        uint32_t mxcsr = gcvm_guest_exit_mxcsr;
        uint16_t fcw = gcvm_guest_exit_fcw;
        __asm__ volatile("ldmxcsr %0; fldcw %1" : : "m"(mxcsr), "m"(fcw));
    }
    struct saved_context back = {.rbx = r.rbx,
                                 .rbp = r.rbp,
                                 .r12 = r.r12,
                                 .r13 = r.r13,
                                 .r14 = r.r14,
                                 .r15 = r.r15,
                                 .rsp = r.rsp,
                                 .rip = r.rip};
    gcvm_arch_resume(&back);
}

/* Reads the registers after an exit through `out`, with the instruction completed.
 * Hypervisors differ here (docs/engine.md, "Two hypervisors"): the development machines'
 * reports RIP past the `out`; KVM on VT-x reports RIP at it and skips it only on the next
 * KVM_RUN. A frame built or a mode left before then would execute the `out` twice. KVM's
 * documented way to finish the instruction without running the guest is a KVM_RUN with
 * immediate_exit set, which returns EINTR. The check is exact: every `out` of the guest
 * runtime is `out %al, $port` (E6 port) and none is followed by another to the same port. */
static void complete_io_exit(uint16_t port, struct kvm_regs *r)
{
    ioctl(gcvm_vcpu_fd, KVM_GET_REGS, r);
    const uint8_t *at = (const uint8_t *)r->rip;
    if (at[0] != 0xe6 || at[1] != port)
        return;
    gcvm_run->immediate_exit = 1;
    int rc = ioctl(gcvm_vcpu_fd, KVM_RUN, 0);
    gcvm_run->immediate_exit = 0;
    if (rc == 0 || errno != EINTR)
        crash("KVM did not complete an I/O instruction without running the guest", NULL, 0);
    ioctl(gcvm_vcpu_fd, KVM_GET_REGS, r);
}

static void trace_exit(const struct kvm_run *run)
{
    if (run->exit_reason == KVM_EXIT_IO)
        fprintf(stderr, "gcvm: exit io port 0x%x\n", run->io.port);
    else
        fprintf(stderr, "gcvm: exit reason %u\n", run->exit_reason);
}

/* Runs the vCPU and serves its exits until the guest leaves guest mode. */
static void __attribute__((noreturn)) serve_guest(void)
{
    int guest_errno = errno;
    for (;;) {
        signals_deliver_pending(gcvm_vcpu_fd);
        errno = guest_errno;
        int rc = ioctl(gcvm_vcpu_fd, KVM_RUN, 0);
        if (rc != 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue; /* a signal was queued for the guest: deliver it */
            crash("KVM_RUN failed", NULL, 0);
        }
        guest_errno = errno;
        gcvm_counters.exits++;
        struct kvm_run *run = gcvm_run;
        if (gcvm_trace_exits)
            trace_exit(run);
        if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
            run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && native_step_enabled()) {
            native_step(gcvm_vcpu_fd, gcvm_loop_stack_top); /* returns if it faulted */
            continue;
        }
        if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
            gcvm_counters.other_exits++;
            if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
                fprintf(stderr, "gcvm: KVM internal error, suberror %u\n", run->internal.suberror);
            crash_with_registers(run->exit_reason == KVM_EXIT_SHUTDOWN ? "triple fault"
                                 : run->exit_reason == KVM_EXIT_MMIO
                                     ? "access to memory with no slot"
                                     : "unexpected exit");
        }
        struct kvm_regs r;
        complete_io_exit(run->io.port, &r);
        switch (run->io.port) {
        case PORT_SYSCALL:
            serve_syscall(&r);
            ioctl(gcvm_vcpu_fd, KVM_SET_REGS, &r);
            break;
        case PORT_HYPERCALL: serve_hypercall(r.rdi); break;
        case PORT_SIGNAL:
            signals_return_from_fault(&r);
            ioctl(gcvm_vcpu_fd, KVM_SET_REGS, &r);
            break;
        case PORT_EXIT: errno = guest_errno; leave_to_host(&r);
        default: gcvm_counters.other_exits++; crash_with_registers("write to an unknown I/O port");
        }
    }
}

void run_loop(struct saved_context *ctx)
{
    static bool vdso_known;
    if (!vdso_known) {
        find_vdso_functions();
        vdso_known = true;
    }
    enter_registers(ctx);
    if (native_step_enabled())
        native_step_buffer_to_vcpu(gcvm_vcpu_fd);
    signals_wrap();
    serve_guest();
}

static struct kvm_regs registers_after_step;

static void continue_after_step(struct saved_context *unused)
{
    (void)unused;
    if (ioctl(gcvm_vcpu_fd, KVM_SET_REGS, &registers_after_step) != 0)
        crash("KVM refused the registers after a native step", NULL, 0);
    native_step_buffer_to_vcpu(gcvm_vcpu_fd);
    serve_guest();
}

void run_loop_after_step(const struct kvm_regs *r, char *stack_top)
{
    registers_after_step = *r;
    struct saved_context unused;
    gcvm_arch_enter(&unused, continue_after_step, stack_top);
    __builtin_unreachable();
}
