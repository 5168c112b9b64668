/* The checked calls on a vCPU (vcpu.h): each ioctl either succeeds or ends the process
 * with a crash report that names it and its errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine.h"
#include "vcpu.h"

/* Reports the failed ioctl. known: registers the caller holds (the ones it tried to set),
 * shown when the vCPU itself can no longer be read; NULL to read them from the vCPU. */
static __attribute__((noreturn)) void failed(const struct vcpu *v, const char *request,
                                             const struct kvm_regs *known)
{
    int e = errno;
    char what[160];
    snprintf(what, sizeof what, "%s on vCPU %u failed: %s (errno %d)", request, v->id, strerror(e),
             e);
    if (known)
        crash_report_registers(what, known, 0);
    crash_report_vcpu(v, what);
}

/* The ioctl request on v with arg; a failure ends the process (failed). */
static void checked(const struct vcpu *v, unsigned long request, const char *name, void *arg,
                    const struct kvm_regs *known)
{
    if (ioctl(v->fd, request, arg) != 0)
        failed(v, name, known);
}
#define CHECKED(v, request, arg, known) checked(v, request, #request, (void *)(arg), known)

void vcpu_get_regs(const struct vcpu *v, struct kvm_regs *r)
{
    CHECKED(v, KVM_GET_REGS, r, NULL);
}

void vcpu_set_regs(const struct vcpu *v, const struct kvm_regs *r)
{
    CHECKED(v, KVM_SET_REGS, r, r);
}

void vcpu_get_sregs(const struct vcpu *v, struct kvm_sregs *s)
{
    CHECKED(v, KVM_GET_SREGS, s, NULL);
}

void vcpu_set_sregs(const struct vcpu *v, const struct kvm_sregs *s)
{
    CHECKED(v, KVM_SET_SREGS, s, NULL);
}

void vcpu_get_fpu(const struct vcpu *v, struct kvm_fpu *fpu)
{
    CHECKED(v, KVM_GET_FPU, fpu, NULL);
}

void vcpu_set_fpu(const struct vcpu *v, const struct kvm_fpu *fpu)
{
    CHECKED(v, KVM_SET_FPU, fpu, NULL);
}

void vcpu_get_xsave(const struct vcpu *v, struct kvm_xsave *xsave)
{
    CHECKED(v, KVM_GET_XSAVE, xsave, NULL);
}

void vcpu_set_xsave(const struct vcpu *v, const struct kvm_xsave *xsave)
{
    CHECKED(v, KVM_SET_XSAVE, xsave, NULL);
}

void vcpu_drop_undelivered_exception(const struct vcpu *v)
{
    struct kvm_vcpu_events events;
    /* The module (kmod) has no such state: it never injects an event, and an exit in the
     * middle of a delivery drops it as done here. */
    if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &events) != 0) {
        if (errno == ENOTTY)
            return;
        failed(v, "KVM_GET_VCPU_EVENTS", NULL);
    }
    if (!events.exception.injected && !events.exception.pending)
        return;
    events.exception.injected = 0;
    events.exception.pending = 0;
    CHECKED(v, KVM_SET_VCPU_EVENTS, &events, NULL);
    COUNT(gcvm_counters.exceptions_dropped);
}

bool vcpu_run(const struct vcpu *v)
{
    if (ioctl(v->fd, KVM_RUN, 0) == 0)
        return true;
    if (errno == EINTR || errno == EAGAIN)
        return false;
    failed(v, "KVM_RUN", NULL);
}

void vcpu_complete_instruction(const struct vcpu *v)
{
    v->run->immediate_exit = 1;
    int rc = ioctl(v->fd, KVM_RUN, 0);
    v->run->immediate_exit = 0;
    if (rc == 0)
        crash_report_vcpu(v, "KVM_RUN with immediate_exit ran the guest instead of completing "
                             "its I/O instruction");
    if (errno != EINTR)
        failed(v, "KVM_RUN with immediate_exit", NULL);
}
