/* Signals while a thread is in guest mode: the program's handlers run in guest mode, on
 * the guest's stack, as the kernel would run them in host mode. docs/engine.md
 * ("Signals") explains the design; in short:
 *
 * While the run loop owns the thread, every signal that has a handler is "wrapped": the
 * kernel calls a trampoline of ours instead, which only queues the signal. Before the
 * vCPU runs again, the run loop pops each queued signal that the thread's mask allows and
 * builds the kernel's frame on the guest's stack (return address = the handler's
 * restorer, ucontext, siginfo, extended state), so the handler runs in ring 0 and
 * returns through rt_sigreturn, which is emulated here, or longjmps out. The thread's
 * signal mask stays the host thread's own: a forwarded sigprocmask acts on it directly.
 * On leaving guest mode the wrapping is undone and queued signals are sent again. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine.h"
#include "vcpu.h"

#define NSIG_KERNEL 64
#define RED_ZONE 128

/* Dispositions are the process's: the wrappers stay installed while any thread is in
 * guest mode (wrap_users), under actions_lock. */
static struct kernel_sigaction user_actions[NSIG_KERNEL + 1];
static bool wrapped[NSIG_KERNEL + 1];
static unsigned wrap_users;
static pthread_mutex_t actions_lock = PTHREAD_MUTEX_INITIALIZER;

/* Set while the thread's run loop may receive signals for the guest. */
static __thread volatile bool collecting;

/* Signals received for this thread's guest and not yet delivered, oldest first. */
#define QUEUE_CAPACITY 64
static __thread siginfo_t queue[QUEUE_CAPACITY];
static __thread int queue_length;

static long raw_rt_sigaction(int sig, const struct kernel_sigaction *act,
                             struct kernel_sigaction *old)
{
    return syscall(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t));
}

static uint64_t sig_bit(int sig)
{
    return 1ull << (sig - 1);
}

static uint64_t current_mask(void)
{
    uint64_t mask = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, sizeof mask);
    return mask;
}

/* Sets the thread's mask, never blocking the vCPU kick (tlb_coherence.c). */
static void set_mask(uint64_t mask)
{
    mask &= ~sig_bit(tlb_kick_signal());
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, sizeof mask);
}

/* Makes info pending again for this thread, as the kernel queued it. */
static void send_to_self(const siginfo_t *info)
{
    syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), info->si_signo, info);
}

static bool is_handler(const void *handler)
{
    return handler != (void *)SIG_DFL && handler != (void *)SIG_IGN;
}

static bool is_synchronous_fault(int sig, const siginfo_t *info)
{
    return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) && info->si_code > 0;
}

static void trampoline(int sig, siginfo_t *info, void *context)
{
    if (native_step_in_progress() && is_synchronous_fault(sig, info)) {
        fprintf(stderr,
                "gcvm: fatal: signal %d (%s) at address %p from an instruction run "
                "natively for the emulated ring 0\n",
                sig, strsignal(sig), info->si_addr);
        abort();
    }
    if (collecting) {
        if (queue_length < QUEUE_CAPACITY) {
            queue[queue_length++] = *info;
        } else {
            static const char msg[] = "gcvm: more than 64 signals pending for guest mode; "
                                      "one was dropped\n";
            (void)!write(2, msg, sizeof msg - 1);
        }
        return;
    }
    /* Another thread, in host mode: the program's handler runs as usual. */
    const struct kernel_sigaction *act = &user_actions[sig];
    if (act->flags & SA_SIGINFO)
        ((void (*)(int, siginfo_t *, void *))act->handler)(sig, info, context);
    else if (is_handler(act->handler))
        ((void (*)(int))act->handler)(sig);
}

static int install_wrapped(int sig, const struct kernel_sigaction *user)
{
    struct kernel_sigaction act = *user;
    act.handler = (void *)trampoline;
    act.flags = (user->flags | SA_SIGINFO) & ~(unsigned long)(SA_RESETHAND | SA_NODEFER);
    if (raw_rt_sigaction(sig, &act, NULL) != 0)
        return -errno;
    user_actions[sig] = *user;
    wrapped[sig] = true;
    return 0;
}

void signals_wrap(void)
{
    uint64_t kick = sig_bit(tlb_kick_signal());
    syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &kick, NULL, sizeof kick);
    collecting = true;
    pthread_mutex_lock(&actions_lock);
    if (wrap_users++ == 0) {
        for (int sig = 1; sig <= NSIG_KERNEL; sig++) {
            struct kernel_sigaction old;
            if (sig == SIGKILL || sig == SIGSTOP || sig == tlb_kick_signal() ||
                raw_rt_sigaction(sig, NULL, &old) != 0)
                continue;
            if (is_handler(old.handler) && old.handler != (void *)trampoline &&
                !native_step_is_handler(old.handler))
                install_wrapped(sig, &old);
        }
    }
    pthread_mutex_unlock(&actions_lock);
}

void signals_unwrap(void)
{
    collecting = false;
    pthread_mutex_lock(&actions_lock);
    if (wrap_users > 0 && --wrap_users == 0) {
        for (int sig = 1; sig <= NSIG_KERNEL; sig++) {
            if (wrapped[sig]) {
                raw_rt_sigaction(sig, &user_actions[sig], NULL);
                wrapped[sig] = false;
            }
        }
    }
    pthread_mutex_unlock(&actions_lock);
    /* What was received for the guest and not delivered goes to the program's handlers
     * in host mode, as soon as the mask allows. */
    int pending = queue_length;
    queue_length = 0;
    for (int i = 0; i < pending; i++)
        send_to_self(&queue[i]);
}

void signals_forget_thread(void)
{
    collecting = false;
    queue_length = 0;
    wrap_users = 0; /* the forked child's only thread runs in host mode */
    pthread_mutex_init(&actions_lock, NULL);
}

/* signals_sigaction's work for a signal the engine may wrap, under actions_lock. */
static long change_action(int sig, const struct kernel_sigaction *act, struct kernel_sigaction *old)
{
    struct kernel_sigaction previous;
    if (wrapped[sig])
        previous = user_actions[sig];
    else if (raw_rt_sigaction(sig, NULL, &previous) != 0)
        return -errno;
    if (act) {
        if (is_handler(act->handler)) {
            int rc = install_wrapped(sig, act);
            if (rc != 0)
                return rc;
        } else {
            if (raw_rt_sigaction(sig, act, NULL) != 0)
                return -errno;
            wrapped[sig] = false;
        }
    }
    if (old)
        *old = previous;
    return 0;
}

long signals_sigaction(int sig, const struct kernel_sigaction *act, struct kernel_sigaction *old,
                       size_t mask_size)
{
    if (sig == tlb_kick_signal() && act) {
        static const char msg[] = "gcvm: the program tried to handle the engine's vCPU kick "
                                  "signal (SIGRTMAX-1); refused with EINVAL\n";
        (void)!write(2, msg, sizeof msg - 1);
        return -EINVAL;
    }
    if (mask_size != sizeof(uint64_t) || sig < 1 || sig > NSIG_KERNEL || sig == SIGKILL ||
        sig == SIGSTOP)
        return syscall(SYS_rt_sigaction, sig, act, old, mask_size) ? -errno : 0;
    pthread_mutex_lock(&actions_lock);
    long rc = change_action(sig, act, old);
    pthread_mutex_unlock(&actions_lock);
    return rc;
}

/* ---- Delivery ---- */

/* The kernel's frame, at the handler's stack pointer (the return address is popped by
 * the handler's `ret`; rt_sigreturn then finds the ucontext at rsp). */
struct signal_frame {
    void *return_address;
    ucontext_t uc;
    siginfo_t info;
};

void registers_to_mcontext(const struct kvm_regs *r, mcontext_t *mc)
{
    greg_t *g = mc->gregs;
    g[REG_R8] = (greg_t)r->r8, g[REG_R9] = (greg_t)r->r9, g[REG_R10] = (greg_t)r->r10;
    g[REG_R11] = (greg_t)r->r11, g[REG_R12] = (greg_t)r->r12, g[REG_R13] = (greg_t)r->r13;
    g[REG_R14] = (greg_t)r->r14, g[REG_R15] = (greg_t)r->r15, g[REG_RDI] = (greg_t)r->rdi;
    g[REG_RSI] = (greg_t)r->rsi, g[REG_RBP] = (greg_t)r->rbp, g[REG_RBX] = (greg_t)r->rbx;
    g[REG_RDX] = (greg_t)r->rdx, g[REG_RAX] = (greg_t)r->rax, g[REG_RCX] = (greg_t)r->rcx;
    g[REG_RSP] = (greg_t)r->rsp, g[REG_RIP] = (greg_t)r->rip, g[REG_EFL] = (greg_t)r->rflags;
}

void registers_from_mcontext(const mcontext_t *mc, struct kvm_regs *r)
{
    const greg_t *g = mc->gregs;
    r->r8 = (uint64_t)g[REG_R8], r->r9 = (uint64_t)g[REG_R9], r->r10 = (uint64_t)g[REG_R10];
    r->r11 = (uint64_t)g[REG_R11], r->r12 = (uint64_t)g[REG_R12], r->r13 = (uint64_t)g[REG_R13];
    r->r14 = (uint64_t)g[REG_R14], r->r15 = (uint64_t)g[REG_R15], r->rdi = (uint64_t)g[REG_RDI];
    r->rsi = (uint64_t)g[REG_RSI], r->rbp = (uint64_t)g[REG_RBP], r->rbx = (uint64_t)g[REG_RBX];
    r->rdx = (uint64_t)g[REG_RDX], r->rax = (uint64_t)g[REG_RAX], r->rcx = (uint64_t)g[REG_RCX];
    r->rsp = (uint64_t)g[REG_RSP], r->rip = (uint64_t)g[REG_RIP];
    r->rflags = ((uint64_t)g[REG_EFL] & RFLAGS_USER) | RFLAGS_GUEST;
}

/* Where the frame goes: below the red zone, or on the alternate stack if the handler
 * asked for it and the thread is not on it already. */
static uint64_t frame_stack_top(uint64_t rsp, const struct kernel_sigaction *act, stack_t *ss)
{
    memset(ss, 0, sizeof *ss);
    ss->ss_flags = SS_DISABLE;
    stack_t alt;
    if (syscall(SYS_sigaltstack, NULL, &alt) != 0 || (alt.ss_flags & SS_DISABLE))
        return rsp - RED_ZONE;
    *ss = alt;
    uint64_t lo = (uint64_t)alt.ss_sp, hi = lo + alt.ss_size;
    bool on_it = rsp > lo && rsp <= hi;
    if (on_it)
        ss->ss_flags = SS_ONSTACK;
    if ((act->flags & SA_ONSTACK) && !on_it)
        return hi;
    return rsp - RED_ZONE;
}

static void deliver(struct vcpu *v, const siginfo_t *info, uint64_t mask)
{
    int sig = info->si_signo;
    struct kernel_sigaction act = user_actions[sig];
    if (!act.restorer || !(act.flags & SA_RESTORER)) {
        fprintf(stderr,
                "gcvm: the handler of signal %d has no restorer (SA_RESTORER); "
                "install it with the C library's sigaction()\n",
                sig);
        abort();
    }
    struct kvm_regs r;
    vcpu_get_regs(v, &r);
    stack_t ss;
    uint64_t sp = frame_stack_top(r.rsp, &act, &ss);
    static __thread struct kvm_xsave xsave;
    if (native_step_enabled()) /* the vector registers are kept by the engine */
        native_step_save_xstate(v, &xsave, sizeof xsave);
    else
        vcpu_get_xsave(v, &xsave);
    sp = (sp - sizeof xsave) & ~63ull;
    uint64_t fp = sp;
    memcpy((void *)fp, &xsave, sizeof xsave);
    sp = ((sp - sizeof(struct signal_frame)) & ~15ull) - 8;
    struct signal_frame *frame = (struct signal_frame *)sp;
    memset(frame, 0, sizeof *frame);
    frame->return_address = act.restorer;
    frame->info = *info;
    frame->uc.uc_stack = ss;
    registers_to_mcontext(&r, &frame->uc.uc_mcontext);
    frame->uc.uc_mcontext.fpregs = (struct _libc_fpstate *)fp;
    memcpy(&frame->uc.uc_sigmask, &mask, sizeof mask);
    set_mask(mask | act.mask | ((act.flags & SA_NODEFER) ? 0 : sig_bit(sig)));
    if (act.flags & SA_RESETHAND) {
        struct kernel_sigaction dfl = {.handler = (void *)SIG_DFL};
        pthread_mutex_lock(&actions_lock);
        change_action(sig, &dfl, NULL);
        pthread_mutex_unlock(&actions_lock);
    }
    r.rsp = sp;
    r.rip = (uint64_t)act.handler;
    r.rdi = (uint64_t)sig;
    r.rsi = (uint64_t)&frame->info;
    r.rdx = (uint64_t)&frame->uc;
    r.rax = 0;
    r.rflags &= ~(uint64_t)((1u << 8) | (1u << 10) | (1u << 18)); /* TF, DF, AC */
    vcpu_set_regs(v, &r);
    COUNT(gcvm_counters.signals_delivered);
}

void signals_return_from_fault(struct kvm_regs *r)
{
    const struct fault_frame *f = (const struct fault_frame *)r->rsp;
    *r = (struct kvm_regs){.rax = f->rax,
                           .rbx = f->rbx,
                           .rcx = f->rcx,
                           .rdx = f->rdx,
                           .rsi = f->rsi,
                           .rdi = f->rdi,
                           .rsp = f->rsp,
                           .rbp = f->rbp,
                           .r8 = f->r8,
                           .r9 = f->r9,
                           .r10 = f->r10,
                           .r11 = f->r11,
                           .r12 = f->r12,
                           .r13 = f->r13,
                           .r14 = f->r14,
                           .r15 = f->r15,
                           .rip = f->rip,
                           .rflags = f->rflags};
}

void signals_deliver_pending(struct vcpu *v)
{
    v->cpu->signal_pending = 0;
    if (queue_length == 0)
        return;
    /* Inside a fault handler (the program's, say) or an entry stub (IF clear) no frame
     * may be built: the #PF stub comes back through GCVM_PORT_SIGNAL when it is done. */
    struct kvm_regs r;
    vcpu_get_regs(v, &r);
    if (!(r.rflags & RFLAGS_IF) || __atomic_load_n(&v->cpu->fault_depth, __ATOMIC_RELAXED)) {
        v->cpu->signal_pending = 1;
        return;
    }
    uint64_t all = ~0ull, mask;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &mask, sizeof mask);
    /* The queue cannot change while every signal is blocked. */
    uint64_t frame_mask = mask;
    for (int i = 0; i < queue_length;) {
        int sig = queue[i].si_signo;
        if (frame_mask & sig_bit(sig)) {
            i++;
            continue;
        }
        siginfo_t info = queue[i];
        memmove(&queue[i], &queue[i + 1], (size_t)(queue_length - i - 1) * sizeof queue[0]);
        queue_length--;
        if (!wrapped[sig]) { /* no longer handled: what the kernel would do now */
            set_mask(frame_mask);
            send_to_self(&info);
            set_mask(all);
            continue;
        }
        deliver(v, &info, frame_mask);
        frame_mask = current_mask();
        set_mask(all);
        i = 0; /* a nested frame for each further signal the new mask allows */
    }
    set_mask(frame_mask);
}

void signals_sigreturn(struct vcpu *v, struct kvm_regs *r)
{
    const ucontext_t *uc = (const ucontext_t *)r->rsp;
    uint64_t mask;
    memcpy(&mask, &uc->uc_sigmask, sizeof mask);
    const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    if (fp) {
        static __thread struct kvm_xsave xsave;
        memcpy(&xsave, fp, sizeof xsave);
        if (native_step_enabled())
            native_step_load_xstate(v, &xsave, sizeof xsave);
        else
            vcpu_set_xsave(v, &xsave);
    }
    registers_from_mcontext(&uc->uc_mcontext, r);
    set_mask(mask & ~(sig_bit(SIGKILL) | sig_bit(SIGSTOP)));
}
