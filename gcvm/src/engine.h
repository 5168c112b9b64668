/* Internal interface of the engine, shared by its host side (kvm_vm.c, address_space.c,
 * run_loop.c, ...) and its guest side (guest_runtime.c). The numbers the assembly
 * (guest_arch.S) and the kernel module share with it are in guest_abi.h. docs/engine.md
 * explains the design. */
#ifndef GCVM_ENGINE_H
#define GCVM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ucontext.h>

#include "gcvm/gcvm.h"
#include "guest_abi.h"

struct kvm_regs;
struct vcpu;
struct clone_child;

/* x86-64 page-table entry bits. */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PROTECTED (1ull << 9)      /* software: gcvm_protect() lowered the access */
#define PTE_HOST_WRITABLE (1ull << 10) /* software: the host mapping allows writes */
#define PTE_ADDR 0x000ffffffffff000ull
#define PAGE 4096ull

/* The guest's flags outside exception handlers: interrupts "enabled". No interrupt is
 * ever injected; IF tells the host whether the guest is inside its fault handler, where
 * no signal frame may be built (signals.c). */
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_GUEST (RFLAGS_IF | 2)
/* The flags a program may set and a signal frame restores: arithmetic flags and DF. */
#define RFLAGS_USER 0x0cd5ull

/* Selectors of the guest's GDT. */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18

/* Saved by the exception stubs, lowest address first. */
struct fault_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
_Static_assert(offsetof(struct fault_frame, rax) == (GCVM_FRAME_GPRS - 1) * 8,
               "the stubs push fifteen registers, rax first");
_Static_assert(offsetof(struct fault_frame, vector) == GCVM_FRAME_VECTOR, "guest_abi.h");
_Static_assert(offsetof(struct fault_frame, error) == GCVM_FRAME_ERROR, "guest_abi.h");
_Static_assert(offsetof(struct fault_frame, rip) == GCVM_FRAME_RIP, "guest_abi.h");

struct hypercall {
    uint64_t op; /* GCVM_HC_POPULATE, GCVM_HC_CRASH or GCVM_HC_SHOOTDOWN */
    uint64_t addr, len, write;
    struct fault_frame *frame; /* the page fault being served, or NULL */
    uint64_t cr2;
    int64_t result; /* of the request; for GCVM_HC_CRASH, why the page was not mapped */
};

/* Everything the guest side reads: it lives in the pre-mapped guest data section. */
struct guest_shared {
    char *pool_hva; /* page-table pool: host address and guest-physical address */
    uint64_t pool_gpa;
    uint64_t pml4_gpa;
    gcvm_fault_fn handler;
    void *handler_arg;
    uint64_t protection_faults;
    /* vCPUs held by threads now: with more than one, what lowers a page's access or
     * clears its dirty or accessed bit asks the host for a shootdown (tlb_coherence.c). */
    uint32_t vcpus_held;
};

extern struct guest_shared gcvm_shared;
/* How the #PF stub saves the interrupted code's extended state around the C handler:
 * GCVM_STATE_SAVE_NONE, _FXSAVE or _XSAVE (guest_abi.h). */
extern uint8_t gcvm_guest_state_save;

/* Each vCPU's own guest data, which the guest's stubs find at their GS base. */
struct guest_cpu {
    void *ist1_slot;         /* the TSS's IST1 field (unaligned), moved by the #PF stub */
    uint32_t signal_pending; /* set while a signal waits for the guest to leave its fault
                                handler */
    uint32_t exit_mxcsr;     /* the guest's MXCSR and x87 control word at gcvm_exit(), */
    uint16_t exit_fcw;       /* stored by the guest itself */
    uint32_t fault_depth;    /* #PF handlers running now: no signal frame is built inside
                                one (the handler itself runs with interrupts on) */
};
_Static_assert(offsetof(struct guest_cpu, ist1_slot) == GCVM_CPU_IST1_SLOT, "guest_abi.h");
_Static_assert(offsetof(struct guest_cpu, signal_pending) == GCVM_CPU_SIGNAL_PENDING,
               "guest_abi.h");
_Static_assert(offsetof(struct guest_cpu, exit_mxcsr) == GCVM_CPU_EXIT_MXCSR, "guest_abi.h");
_Static_assert(offsetof(struct guest_cpu, exit_fcw) == GCVM_CPU_EXIT_FCW, "guest_abi.h");
_Static_assert(offsetof(struct guest_cpu, fault_depth) == GCVM_CPU_FAULT_DEPTH, "guest_abi.h");

/* Guest-side entry points written in assembly (guest_arch.S). */
void gcvm_guest_syscall_entry(void);
void gcvm_guest_flush_and_return(void);
/* The TLB flush the host makes a vCPU run first (tlb_coherence.c): entered with a frame
 * like an exception's (vector GCVM_VECTOR_FLUSH), it has flushed by ..._done. */
void gcvm_guest_flush_entry(void);
extern char gcvm_guest_flush_done[];
void gcvm_guest_page_fault_entry(void);
extern char gcvm_guest_exception_entries[]; /* 32 entries of 16 bytes */
void gcvm_arch_exit(void);

/* Host-side context switch (guest_arch.S). */
struct saved_context {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
    struct vcpu *vcpu; /* the vCPU the loop runs; not touched by the assembly */
    /* Every register the guest starts with (a thread cloned in guest mode), or NULL: it
     * starts from the ones above, with rax = 0. Read before the guest runs. */
    const struct kvm_regs *start;
};
_Static_assert(offsetof(struct saved_context, rbx) == GCVM_CTX_RBX, "guest_abi.h");
_Static_assert(offsetof(struct saved_context, rbp) == GCVM_CTX_RBP, "guest_abi.h");
_Static_assert(offsetof(struct saved_context, r12) == GCVM_CTX_R12, "guest_abi.h");
_Static_assert(offsetof(struct saved_context, r13) == GCVM_CTX_R13, "guest_abi.h");
_Static_assert(offsetof(struct saved_context, r14) == GCVM_CTX_R14, "guest_abi.h");
_Static_assert(offsetof(struct saved_context, r15) == GCVM_CTX_R15, "guest_abi.h");
_Static_assert(offsetof(struct saved_context, rsp) == GCVM_CTX_RSP, "guest_abi.h");
_Static_assert(offsetof(struct saved_context, rip) == GCVM_CTX_RIP, "guest_abi.h");
/* Saves the callee-saved registers and return point in ctx, switches to stack_top and
 * calls loop(ctx); returns 0 when the guest later continues from that point. */
int gcvm_arch_enter(struct saved_context *ctx, void (*loop)(struct saved_context *),
                    void *stack_top);
/* Loads ctx's registers (rax = 0) and jumps to ctx->rip. Does not return. */
__attribute__((noreturn)) void gcvm_arch_resume(const struct saved_context *ctx);
/* A resume point: ends the thread in host mode with exit status rbx, on the thread's own
 * stack, through engine_thread_ends. */
void gcvm_arch_thread_exit(void);

/* ---- Address space (address_space.c) ---- */
int aspace_init(int vm_fd, unsigned phys_bits, char *err, size_t err_len);
/* Maps [addr, addr+len) now, whatever the page's use: for the engine's own pages. */
int aspace_map_eager(uint64_t addr, uint64_t len, bool writable);
/* Maps the pages of [addr, addr+len) that the host maps with enough access; -EFAULT
 * for an unmapped page, -EACCES for a write to a read-only one. */
int aspace_populate(uint64_t addr, uint64_t len, bool write);
/* A change of the host's mappings made by the guest (munmap, mprotect, mremap, mmap
 * over a range, brk, shmdt) is made between aspace_change_begin and aspace_change_end,
 * under the lock that every mapping into the guest takes; aspace_forget, called there,
 * forgets the guest's entries for a range (before the call for the range it names, so
 * that no vCPU uses an entry of the old mapping while the kernel hands the range out
 * again; after it for a range only its result tells). So a range the kernel frees and
 * hands out again (a new vCPU's tables, mapped eagerly) keeps what is mapped for its
 * new use. aspace_change_end drops the cached host map as well. */
void aspace_change_begin(void);
void aspace_forget(uint64_t addr, uint64_t len);
void aspace_change_end(void);
/* Between begin and end: the end of the host mapping that holds addr, as
 * /proc/self/maps has it now; addr itself when none does. */
uint64_t aspace_host_mapping_end(uint64_t addr);
/* The guest's page-table entry for va, or NULL if its tables do not exist yet. */
uint64_t *aspace_pte(uint64_t va);
uint64_t aspace_memslots(void);

/* ---- Run loop (run_loop.c) ---- */
struct engine_counters {
    uint64_t exits, syscall_exits, populate_exits, other_exits, signals_delivered, native_steps;
    uint64_t exceptions_dropped; /* vcpu_drop_undelivered_exception */
};
extern struct engine_counters gcvm_counters;
/* Counts one event in a counter that every vCPU's thread updates. */
#define COUNT(counter) __atomic_fetch_add(&(counter), 1, __ATOMIC_RELAXED)
/* Runs ctx->vcpu from the registers in ctx until the guest leaves guest mode. */
void run_loop(struct saved_context *ctx);
/* Continues v's run loop on its own stack after a native step, with the guest's
 * registers r. Does not return. */
__attribute__((noreturn)) void run_loop_after_step(struct vcpu *v, const struct kvm_regs *r);
extern bool gcvm_trace_exits;

/* A system call made from the host side, where errno belongs to the guest: the result,
 * or -errno, and errno untouched. */
static inline long raw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
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

/* ---- TLB coherence between vCPUs (tlb_coherence.c) ---- */
/* Installs the kick signal's handler (once, at gcvm_init). 0 or -errno. */
int tlb_init(char *err, size_t err_len);
/* The kick signal: it makes KVM_RUN return; a program must not use it. */
int tlb_kick_signal(void);
/* A vCPU taken by a thread: its TLB may hold anything, so it flushes before running. */
void tlb_vcpu_taken(struct vcpu *v);
/* Around every KVM_RUN of v's run loop: the first makes the guest flush its TLB first
 * if a shootdown happened since its last flush; the second records that it is out. */
void tlb_before_run(struct vcpu *v);
void tlb_after_run(struct vcpu *v);
/* Returns once no vCPU but self (NULL: none) can use a translation or a cached dirty or
 * accessed bit older than the call: each one that is running the guest is kicked out of
 * KVM_RUN, and flushes before it runs again. self flushes its own TLB. */
void tlb_shootdown(const struct vcpu *self);
uint64_t tlb_shootdowns(void);

/* ---- Crash reports (crash_report.c) ---- */
/* Reports what went wrong in guest mode (with f: the vector, registers, symbol at rip
 * and a backtrace) on stderr, then abort(). */
__attribute__((noreturn)) void crash_report(const char *what, const struct fault_frame *f,
                                            uint64_t cr2);
/* The same from the registers r. */
__attribute__((noreturn)) void crash_report_registers(const char *what, const struct kvm_regs *r,
                                                      uint64_t cr2);
/* The same from v's registers as the vCPU reports them now (without them if it cannot). */
__attribute__((noreturn)) void crash_report_vcpu(const struct vcpu *v, const char *what);

/* ---- The vDSO in guest mode (vdso.c) ---- */
/* Finds the vDSO and its functions (once, before the first run). */
void vdso_find_functions(void);
/* If the fault f is a call to a vDSO function, makes it and returns true with f set to
 * return to the caller. A call to a function the engine does not know ends the process. */
bool vdso_emulate_call(struct fault_frame *f);
/* Whether [addr, addr+len) touches the vDSO's pages, which are never mapped in the guest. */
bool vdso_overlaps(uint64_t addr, uint64_t len);

/* Called in a child created by fork from guest mode: the engine stays unusable there. */
void engine_forget_after_fork(void);
/* Called in a thread cloned from guest mode with its own TLS: continues it in guest mode
 * on a vCPU of its own, from the registers in c (c->started is set once they are read),
 * and does not return. Returns when the thread is to start in host mode instead (the
 * program asked for it, or no vCPU is left). */
void engine_start_cloned_thread(struct clone_child *c);
/* Ends the calling thread, which left guest mode at its exit system call: the vCPU is
 * free for another thread to enter, then the thread exits with status. */
__attribute__((noreturn)) void engine_thread_ends(int status);
/* The VM's vCPU number i, or NULL when it has fewer (they are never removed). */
struct vcpu *engine_vcpu_at(unsigned i);
/* Whether guest ring 0 runs on VT-x/AMD-V (decided by gcvm_init's calibration). */
bool engine_hardware(void);

/* ---- Signals in guest mode (signals.c) ---- */
/* The kernel's struct sigaction, as rt_sigaction reads and writes it. */
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
/* From now on the thread's signals with a handler are queued for the guest. */
void signals_wrap(void);
/* The program's own handlers again; what was queued is sent again, for host mode. */
void signals_unwrap(void);
/* Drops the queue without sending it (a forked child). */
void signals_forget_thread(void);
/* rt_sigaction made in guest mode. Returns 0 or -errno. */
long signals_sigaction(int sig, const struct kernel_sigaction *act, struct kernel_sigaction *old,
                       size_t mask_size);
/* Builds a handler frame on the guest's stack for each queued signal the mask allows;
 * inside the fault handler, asks the guest to come back when it leaves it. */
void signals_deliver_pending(struct vcpu *v);
/* The fault handler's return, made by the host (GCVM_PORT_SIGNAL): *r becomes the
 * interrupted context saved in the frame at r->rsp. */
void signals_return_from_fault(struct kvm_regs *r);
/* The general registers and flags of r into a signal frame's mcontext, and back (the
 * flags: only RFLAGS_USER from the frame, on top of RFLAGS_GUEST). */
void registers_to_mcontext(const struct kvm_regs *r, mcontext_t *mc);
void registers_from_mcontext(const mcontext_t *mc, struct kvm_regs *r);
/* rt_sigreturn made in guest mode: *r becomes the registers saved in the frame. */
void signals_sigreturn(struct vcpu *v, struct kvm_regs *r);

/* ---- Threads and processes created in guest mode (processes.c) ---- */
/* What a child needs to continue as the guest would; guest_arch.S reads it. */
struct clone_child {
    uint64_t rbx, rbp, r12, r13, r14, r15, rdi, rsi, rdx, r8, r9, r10;
    uint64_t rip, rsp, flags;
    uint32_t started;
};
_Static_assert(offsetof(struct clone_child, rbx) == GCVM_CLONE_RBX, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, rbp) == GCVM_CLONE_RBP, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, r12) == GCVM_CLONE_R12, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, r13) == GCVM_CLONE_R13, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, r14) == GCVM_CLONE_R14, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, r15) == GCVM_CLONE_R15, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, rdi) == GCVM_CLONE_RDI, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, rsi) == GCVM_CLONE_RSI, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, rdx) == GCVM_CLONE_RDX, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, r8) == GCVM_CLONE_R8, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, r9) == GCVM_CLONE_R9, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, r10) == GCVM_CLONE_R10, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, rip) == GCVM_CLONE_RIP, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, rsp) == GCVM_CLONE_RSP, "guest_abi.h");
_Static_assert(offsetof(struct clone_child, started) == GCVM_CLONE_STARTED, "guest_abi.h");
/* If r asks for a clone, fork or vfork, makes it (the child in host mode), puts the
 * result in *result and returns true. */
bool processes_serve(const struct kvm_regs *r, long *result);
long gcvm_arch_clone(long nr, long a1, long a2, long a3, long a4, long a5, struct clone_child *c);
void gcvm_clone_child_start(struct clone_child *c);

/* ---- Instructions an emulated ring 0 cannot run (native_step.c, guest_operand.c) ---- */
/* Prepares native stepping (emulated ring 0 only). 0, or -errno with a reason. */
int native_step_init(char *err, size_t err_len);
bool native_step_enabled(void);
bool native_step_in_progress(void);
bool native_step_is_handler(const void *handler);
/* Gives a new vCPU its vector-state buffer (in the format the first trap showed). */
void native_step_vcpu_init(struct vcpu *v);
/* The guest's vector registers while stepping is enabled (kernel signal-frame format). */
void native_step_save_xstate(struct vcpu *v, void *dst, size_t len);
void native_step_load_xstate(struct vcpu *v, const void *src, size_t len);
/* Runs v's current instruction in host mode; returns only if it raised a page fault in
 * guest mode instead (the guest then retries). The run loop starts again afterwards on
 * v->loop_stack_top. */
void native_step(struct vcpu *v);
/* After a native step, or on entry: the vCPU's vector registers become the buffer's. */
void native_step_buffer_to_vcpu(struct vcpu *v);
/* Before a native step: false if the instruction must fault in guest mode first (done,
 * the registers now enter the guest's #PF handler). */
bool guest_operand_prepare(const struct vcpu *v, struct kvm_regs *r);
/* After it: the accessed and dirty bits of what it touched. */
void guest_operand_commit(void);

#endif
