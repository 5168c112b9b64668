/* Threads and processes created from guest mode (docs/engine.md, "Threads and
 * processes"). The host makes the clone itself; the child continues at the guest's return
 * address with the guest's registers, on the stack the caller asked for, exactly as it
 * would after the kernel's clone: a thread with its own TLS in guest mode on a vCPU of its
 * own (unless the program asked for host mode), anything else in host mode. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <sched.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

/* Runs first in every child, on its new stack, before the guest's registers are loaded. */
void gcvm_clone_child_start(struct clone_child *c)
{
    if (!(c->flags & CLONE_VM))
        engine_forget_after_fork(); /* a copy of the parent: its vCPU is not ours */
    if (!(c->flags & CLONE_SIGHAND) && !(c->flags & CLONE_VM))
        signals_unwrap(); /* the child's own dispositions: the program's handlers */
    /* A thread of this process with a TLS of its own, where its vCPU is recorded. */
    if ((c->flags & (CLONE_VM | CLONE_THREAD | CLONE_SETTLS)) ==
        (CLONE_VM | CLONE_THREAD | CLONE_SETTLS))
        engine_start_cloned_thread(c); /* returns only if it starts in host mode */
}

static bool is_clone_call(long nr)
{
    return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork;
}

bool processes_serve(const struct kvm_regs *r, long *result)
{
    long nr = (long)r->rax;
    if (!is_clone_call(nr))
        return false;
    struct clone_child c = {.rbx = r->rbx,
                            .rbp = r->rbp,
                            .r12 = r->r12,
                            .r13 = r->r13,
                            .r14 = r->r14,
                            .r15 = r->r15,
                            .rdi = r->rdi,
                            .rsi = r->rsi,
                            .rdx = r->rdx,
                            .r8 = r->r8,
                            .r9 = r->r9,
                            .r10 = r->r10,
                            .rip = r->rcx,
                            .rsp = r->rsp};
    switch (nr) {
    case SYS_clone:
        c.flags = r->rdi;
        if (r->rsi)
            c.rsp = r->rsi;
        break;
    case SYS_clone3: {
        const struct clone_args *args = (const struct clone_args *)r->rdi;
        if (r->rsi < CLONE_ARGS_SIZE_VER0) {
            *result = -EINVAL;
            return true;
        }
        c.flags = args->flags;
        if (args->stack)
            c.rsp = args->stack + args->stack_size;
        break;
    }
    case SYS_vfork: c.flags = CLONE_VM | CLONE_VFORK; break;
    default: c.flags = 0; break;
    }
    *result = gcvm_arch_clone(nr, (long)r->rdi, (long)r->rsi, (long)r->rdx, (long)r->r10,
                              (long)r->r8, &c);
    /* A child sharing our memory reads c from this stack: wait until it has. */
    if (*result > 0 && (c.flags & CLONE_VM))
        while (!__atomic_load_n(&c.started, __ATOMIC_ACQUIRE))
            sched_yield();
    return true;
}
