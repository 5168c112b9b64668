/* The host side of guest mode: runs the vCPU and serves its exits. It runs on its own
 * stack (gcvm_arch_enter) while the guest uses the thread's stack; the thread's TLS is
 * shared, so errno is saved and restored around everything done here. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine.h"
#include "vcpu.h"

_Static_assert(GCVM_ABI_MAP_FIXED == MAP_FIXED, "guest_abi.h");

bool gcvm_trace_exits;
struct engine_counters gcvm_counters;

/* ---- Hypercalls ---- */

static void serve_hypercall(const struct vcpu *v, uint64_t rdi)
{
    struct hypercall *hc = (struct hypercall *)rdi;
    switch (hc->op) {
    case GCVM_HC_SHOOTDOWN:
        tlb_shootdown(v);
        hc->result = 0;
        return;
    case GCVM_HC_POPULATE:
        COUNT(gcvm_counters.populate_exits);
        if (hc->frame && vdso_emulate_call(hc->frame)) {
            hc->result = 0;
            return;
        }
        if (vdso_overlaps(hc->addr, hc->len)) {
            hc->result = -EFAULT;
            return;
        }
        hc->result = aspace_populate(hc->addr, hc->len, hc->write != 0);
        return;
    case GCVM_HC_CRASH:
        if (hc->result < 0)
            fprintf(stderr, "gcvm: the host could not map the faulting page: %s\n",
                    strerror((int)-hc->result));
        crash_report(hc->frame && hc->frame->vector == 14 ? "unhandled page fault" : "exception",
                     hc->frame, hc->cr2);
    default: crash_report("unknown request from the guest runtime", NULL, 0);
    }
}

/* ---- System calls ---- */

/* Whether the call changes the host's mappings, and which range of them it names
 * (munmap, mprotect, mremap's source, mmap over a range). brk and shmdt name none: their
 * range is found when they are made (change_mappings). */
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

static __attribute__((noreturn)) void leave_to_host(const struct vcpu *v,
                                                    const struct kvm_regs *at_exit);

/* exit(2) of the thread in guest mode: it leaves guest mode, then exits in host mode on
 * its own stack, giving the vCPU back (gcvm_arch_thread_exit). Exiting here, on the
 * engine's stack, would keep the vCPU from every other thread. */
static __attribute__((noreturn)) void end_thread(const struct vcpu *v,
                                                 const struct kvm_regs *at_call)
{
    struct kvm_regs r = *at_call;
    /* The guest did not store its MXCSR and x87 control word as gcvm_arch_exit does:
     * the thread keeps the host's, and runs no floating-point code before it ends. */
    __asm__ volatile("stmxcsr %0; fnstcw %1" : "=m"(v->cpu->exit_mxcsr), "=m"(v->cpu->exit_fcw));
    r.rbx = r.rdi;
    r.rip = (uint64_t)gcvm_arch_thread_exit;
    leave_to_host(v, &r);
}

/* Another vCPU's shootdown may kick this thread a moment after it left KVM_RUN. Its
 * kick signal must not interrupt the program's blocking call (some calls return EINTR
 * whatever SA_RESTART says): while other vCPUs are held, the call is made with the kick
 * blocked. The program itself never blocks the kick: a mask it sets loses that bit, or
 * a thread in guest mode could not be kicked out of KVM_RUN. */
static long forward_syscall(long nr, const struct kvm_regs *r)
{
    uint64_t kick = 1ull << (tlb_kick_signal() - 1);
    if (nr == SYS_rt_sigprocmask && r->rsi && r->r10 == sizeof(uint64_t)) {
        /* Read through the kernel: a bad pointer is the program's EFAULT, not ours. */
        uint64_t set;
        struct iovec here = {&set, sizeof set}, there = {(void *)r->rsi, sizeof set};
        long got = raw_syscall6(SYS_process_vm_readv, getpid(), (long)&here, 1, (long)&there, 1, 0);
        if (got != (long)sizeof set)
            return -EFAULT;
        if (r->rdi != SIG_UNBLOCK)
            set &= ~kick;
        return raw_syscall6(nr, (long)r->rdi, (long)&set, (long)r->rdx, (long)r->r10, 0, 0);
    }
    bool others = __atomic_load_n(&gcvm_shared.vcpus_held, __ATOMIC_SEQ_CST) > 1;
    if (others)
        raw_syscall6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&kick, 0, sizeof kick, 0, 0);
    long ret = raw_syscall6(nr, (long)r->rdi, (long)r->rsi, (long)r->rdx, (long)r->r10, (long)r->r8,
                            (long)r->r9);
    if (others)
        raw_syscall6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&kick, 0, sizeof kick, 0, 0);
    return ret;
}

/* Makes a call that changes the host's mappings, and forgets the guest's entries for
 * every range it may change: the one it names, before it (a call that fails may have
 * changed part of it); a detached segment's, as the host map has it; what brk released;
 * mremap's destination. */
static long change_mappings(long nr, const struct kvm_regs *r, uint64_t lo, uint64_t hi)
{
    aspace_change_begin();
    if (nr == SYS_shmdt) {
        lo = r->rdi;
        hi = aspace_host_mapping_end(lo);
    }
    uint64_t old_break = nr == SYS_brk ? (uint64_t)raw_syscall6(SYS_brk, 0, 0, 0, 0, 0, 0) : 0;
    aspace_forget(lo, hi - lo);
    long ret = forward_syscall(nr, r);
    if (nr == SYS_mremap && ret >= 0)
        aspace_forget((uint64_t)ret, r->rdx);
    if (nr == SYS_brk && (uint64_t)ret < old_break)
        aspace_forget((uint64_t)ret, old_break - (uint64_t)ret);
    aspace_change_end();
    return ret;
}

static void serve_syscall(struct vcpu *v, struct kvm_regs *r)
{
    long nr = (long)r->rax, ret;
    COUNT(gcvm_counters.syscall_exits);
    uint64_t lo, hi;
    bool remap = changes_address_space(nr, r, &lo, &hi);
    if (nr == SYS_rt_sigreturn) {
        signals_sigreturn(v, r); /* every register comes from the frame */
        return;
    }
    if (nr == SYS_exit)
        end_thread(v, r);
    if (processes_serve(r, &ret)) {
        /* done: the child, if any, runs in host mode */
    } else if (nr == SYS_rt_sigaction) {
        ret = signals_sigaction((int)r->rdi, (const struct kernel_sigaction *)r->rsi,
                                (struct kernel_sigaction *)r->rdx, (size_t)r->r10);
    } else if (nr == SYS_arch_prctl && (r->rdi == ARCH_SET_FS || r->rdi == ARCH_GET_FS)) {
        struct kvm_sregs s;
        vcpu_get_sregs(v, &s);
        if (r->rdi == ARCH_SET_FS) {
            s.fs.base = r->rsi;
            vcpu_set_sregs(v, &s);
        } else {
            *(uint64_t *)r->rsi = s.fs.base;
        }
        ret = 0;
    } else if (remap) {
        ret = change_mappings(nr, r, lo, hi);
    } else {
        ret = forward_syscall(nr, r);
    }
    r->rax = (uint64_t)ret;
    r->rflags = r->r11; /* as SYSRET would */
    r->rip = r->rcx;
    if (remap) { /* even a call that failed may have changed part of its range */
        r->rip = (uint64_t)gcvm_guest_flush_and_return;
        if (__atomic_load_n(&gcvm_shared.vcpus_held, __ATOMIC_SEQ_CST) > 1)
            tlb_shootdown(v);
    }
}

/* ---- The loop ---- */

static void enter_registers(const struct vcpu *v, const struct saved_context *ctx)
{
    struct kvm_regs r = ctx->start ? *ctx->start
                                   : (struct kvm_regs){.rbx = ctx->rbx,
                                                       .rbp = ctx->rbp,
                                                       .r12 = ctx->r12,
                                                       .r13 = ctx->r13,
                                                       .r14 = ctx->r14,
                                                       .r15 = ctx->r15,
                                                       .rsp = ctx->rsp,
                                                       .rip = ctx->rip,
                                                       .rax = 0,
                                                       .rflags = RFLAGS_GUEST};
    vcpu_set_regs(v, &r);
    struct kvm_sregs s;
    vcpu_get_sregs(v, &s);
    uint64_t fs = 0;
    raw_syscall6(SYS_arch_prctl, ARCH_GET_FS, (long)&fs, 0, 0, 0, 0);
    s.fs.base = fs;
    vcpu_set_sregs(v, &s);
    struct kvm_fpu fpu;
    vcpu_get_fpu(v, &fpu);
    uint32_t mxcsr;
    uint16_t fcw;
    __asm__ volatile("stmxcsr %0; fnstcw %1" : "=m"(mxcsr), "=m"(fcw));
    fpu.mxcsr = mxcsr;
    fpu.fcw = fcw;
    vcpu_set_fpu(v, &fpu);
}

static void __attribute__((noreturn))
leave_to_host(const struct vcpu *v, const struct kvm_regs *at_exit)
{
    signals_unwrap();
    struct kvm_regs r = *at_exit;
    /* The guest may have changed rounding or exception masks: gcvm_arch_exit stored them.
     * (KVM_GET_FPU is not to be trusted for it: KVM on VT-x under a kernel with XSAVE off
     * reported MXCSR 0.) An emulated ring 0 runs no floating-point code at all, so there
     * the host's stay. */
    if (gcvm_guest_state_save != GCVM_STATE_SAVE_NONE) {
        uint32_t mxcsr = v->cpu->exit_mxcsr;
        uint16_t fcw = v->cpu->exit_fcw;
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
 * immediate_exit set (vcpu_complete_instruction). The check is exact: every `out` of the
 * guest runtime is `out %al, $port` (E6 port) and none is followed by another to the same
 * port. */
static void complete_io_exit(const struct vcpu *v, uint16_t port, struct kvm_regs *r)
{
    vcpu_get_regs(v, r);
    const uint8_t *at = (const uint8_t *)r->rip;
    if (at[0] != 0xe6 || at[1] != port)
        return;
    vcpu_complete_instruction(v);
    vcpu_get_regs(v, r);
}

static void trace_exit(const struct kvm_run *run)
{
    if (run->exit_reason == KVM_EXIT_IO)
        fprintf(stderr, "gcvm: exit io port 0x%x\n", run->io.port);
    else
        fprintf(stderr, "gcvm: exit reason %u\n", run->exit_reason);
}

/* Runs the vCPU and serves its exits until the guest leaves guest mode. */
static void __attribute__((noreturn)) serve_guest(struct vcpu *v)
{
    int guest_errno = errno;
    for (;;) {
        signals_deliver_pending(v);
        errno = guest_errno;
        tlb_before_run(v);
        bool exited = vcpu_run(v);
        tlb_after_run(v);
        if (!exited) { /* a signal was queued for the guest, or a kick: deliver, flush */
            vcpu_drop_undelivered_exception(v);
            continue;
        }
        guest_errno = errno;
        COUNT(gcvm_counters.exits);
        const struct kvm_run *run = v->run;
        if (gcvm_trace_exits)
            trace_exit(run);
        if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
            run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && native_step_enabled()) {
            native_step(v); /* returns if it faulted */
            continue;
        }
        if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
            COUNT(gcvm_counters.other_exits);
            if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
                fprintf(stderr, "gcvm: KVM internal error, suberror %u\n", run->internal.suberror);
            crash_report_vcpu(v, run->exit_reason == KVM_EXIT_SHUTDOWN ? "triple fault"
                                 : run->exit_reason == KVM_EXIT_MMIO
                                     ? "access to memory with no slot"
                                     : "unexpected exit");
        }
        struct kvm_regs r;
        complete_io_exit(v, run->io.port, &r);
        switch (run->io.port) {
        case GCVM_PORT_SYSCALL:
            serve_syscall(v, &r);
            vcpu_set_regs(v, &r);
            break;
        case GCVM_PORT_HYPERCALL: serve_hypercall(v, r.rdi); break;
        case GCVM_PORT_SIGNAL:
            signals_return_from_fault(&r);
            vcpu_set_regs(v, &r);
            break;
        case GCVM_PORT_EXIT: errno = guest_errno; leave_to_host(v, &r);
        default:
            COUNT(gcvm_counters.other_exits);
            crash_report_vcpu(v, "write to an unknown I/O port");
        }
    }
}

void run_loop(struct saved_context *ctx)
{
    struct vcpu *v = ctx->vcpu;
    enter_registers(v, ctx);
    if (native_step_enabled())
        native_step_buffer_to_vcpu(v);
    signals_wrap();
    serve_guest(v);
}

static void continue_after_step(struct saved_context *ctx)
{
    struct vcpu *v = ctx->vcpu;
    vcpu_set_regs(v, &v->after_step);
    native_step_buffer_to_vcpu(v);
    serve_guest(v);
}

void run_loop_after_step(struct vcpu *v, const struct kvm_regs *r)
{
    v->after_step = *r;
    /* Only the vCPU is read from it, before anything else runs on the loop's stack. */
    struct saved_context resume = {.vcpu = v};
    gcvm_arch_enter(&resume, continue_after_step, v->loop_stack_top);
    __builtin_unreachable();
}
