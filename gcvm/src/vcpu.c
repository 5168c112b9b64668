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

void vcpu_get_regs(const struct vcpu *v, struct kvm_regs *r)
{
    if (ioctl(v->fd, KVM_GET_REGS, r) != 0)
        failed(v, "KVM_GET_REGS", NULL);
}

void vcpu_set_regs(const struct vcpu *v, const struct kvm_regs *r)
{
    if (ioctl(v->fd, KVM_SET_REGS, r) != 0)
        failed(v, "KVM_SET_REGS", r);
}

void vcpu_get_sregs(const struct vcpu *v, struct kvm_sregs *s)
{
    if (ioctl(v->fd, KVM_GET_SREGS, s) != 0)
        failed(v, "KVM_GET_SREGS", NULL);
}

void vcpu_set_sregs(const struct vcpu *v, const struct kvm_sregs *s)
{
    if (ioctl(v->fd, KVM_SET_SREGS, s) != 0)
        failed(v, "KVM_SET_SREGS", NULL);
}

void vcpu_get_fpu(const struct vcpu *v, struct kvm_fpu *fpu)
{
    if (ioctl(v->fd, KVM_GET_FPU, fpu) != 0)
        failed(v, "KVM_GET_FPU", NULL);
}

void vcpu_set_fpu(const struct vcpu *v, const struct kvm_fpu *fpu)
{
    if (ioctl(v->fd, KVM_SET_FPU, fpu) != 0)
        failed(v, "KVM_SET_FPU", NULL);
}

void vcpu_get_xsave(const struct vcpu *v, struct kvm_xsave *xsave)
{
    if (ioctl(v->fd, KVM_GET_XSAVE, xsave) != 0)
        failed(v, "KVM_GET_XSAVE", NULL);
}

void vcpu_set_xsave(const struct vcpu *v, const struct kvm_xsave *xsave)
{
    if (ioctl(v->fd, KVM_SET_XSAVE, xsave) != 0)
        failed(v, "KVM_SET_XSAVE", NULL);
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
