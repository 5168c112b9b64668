/* A virtual CPU of the engine's VM, and the checked calls the engine makes on it.
 *
 * Every register, FPU and XSAVE call the run loop, signal delivery and native stepping
 * make goes through these accessors. A failure is never ignored: the process ends with a
 * crash report that names the ioctl and its errno, with the guest's registers and a
 * backtrace where they can still be read (crash_report.c). The guest state is the
 * engine's to keep consistent; continuing after a refused update would run the guest with
 * registers nobody chose. */
#ifndef GCVM_VCPU_H
#define GCVM_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/kvm.h>

#define VCPU_STEP_XSTATE_BYTES 4096
#define VCPU_FLUSH_STACK_BYTES 4096 /* two nested TLB-flush frames at most */

struct guest_cpu;

struct vcpu {
    int fd;                   /* KVM_CREATE_VCPU's file */
    unsigned id;              /* its vCPU id in the VM */
    struct kvm_run *run;      /* the shared run page, mapped from fd */
    char *loop_stack_top;     /* the host stack its run loop starts on */
    bool owned;               /* a thread holds it (engine.c, under its lock) */
    pid_t tid;                /* the thread that holds it, which a kick signals */
    struct guest_cpu *cpu;    /* its guest data (GS base), in its CPU tables */
    uint64_t flush_stack_top; /* where the host builds a TLB-flush frame */
    uint64_t ist1_top;        /* the top of its #PF stack, the TSS's IST1 when no fault runs */
    /* TLB coherence (tlb_coherence.c): the shootdown generation its TLB was last flushed
     * for, and run_state = 2 * (KVM_RUNs finished) + (1 while in KVM_RUN). */
    uint64_t flushed_generation;
    uint64_t run_state;
    /* The guest's registers after a native step, until the run loop resumes on its own
     * stack (run_loop_after_step). */
    struct kvm_regs after_step;
    /* The vector registers while an emulated ring 0 runs (native_step.c), in the
     * kernel's signal-frame format, and the vCPU's own XSAVE image. */
    _Alignas(64) uint8_t step_xstate[VCPU_STEP_XSTATE_BYTES];
    _Alignas(64) struct kvm_xsave xsave;
};

void vcpu_get_regs(const struct vcpu *v, struct kvm_regs *r);
void vcpu_set_regs(const struct vcpu *v, const struct kvm_regs *r);
void vcpu_get_sregs(const struct vcpu *v, struct kvm_sregs *s);
void vcpu_set_sregs(const struct vcpu *v, const struct kvm_sregs *s);
void vcpu_get_fpu(const struct vcpu *v, struct kvm_fpu *fpu);
void vcpu_set_fpu(const struct vcpu *v, const struct kvm_fpu *fpu);
void vcpu_get_xsave(const struct vcpu *v, struct kvm_xsave *xsave);
void vcpu_set_xsave(const struct vcpu *v, const struct kvm_xsave *xsave);

/* KVM_RUN: true when the guest exited and v->run says why; false when a signal for the
 * thread interrupted it (EINTR, EAGAIN) and the caller should deliver it and run again.
 * errno is left as the guest left it when the run succeeds. */
bool vcpu_run(const struct vcpu *v);

/* After a KVM_RUN cut short (vcpu_run false) or before a vCPU serves a new thread: drops
 * an exception KVM was delivering when it stopped. KVM keeps such an exception injected
 * across KVM_SET_REGS and delivers it at whatever rip the registers then name, so a frame
 * the host builds next (a TLB flush, a signal) or the next thread would receive a fault
 * that is not its own. Every exception the guest takes is a fault whose rip is the
 * faulting instruction, which faults again when it runs again: nothing is lost. Counts
 * each one dropped (exceptions_dropped); the module's backend keeps none. */
void vcpu_drop_undelivered_exception(const struct vcpu *v);

/* Completes the I/O instruction the guest exited at without running the guest: KVM_RUN
 * with immediate_exit set, which KVM documents as returning EINTR once it has finished
 * the instruction. */
void vcpu_complete_instruction(const struct vcpu *v);

#endif
