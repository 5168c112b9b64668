/* Creating the KVM virtual machine and its vCPUs (kvm_vm.c). */
#ifndef GCVM_KVM_VM_H
#define GCVM_KVM_VM_H

#include <stdbool.h>
#include <stddef.h>

struct vcpu;

struct kvm_machine {
    int kvm_fd, vm_fd;
    struct kvm_cpuid2 *cpuid; /* what every vCPU is given */
    unsigned phys_bits;       /* the guest's MAXPHYADDR */
    bool xsave;               /* CR4.OSXSAVE is set in the guest */
};

#define KVM_DEVICE "/dev/kvm"
#define KMOD_DEVICE "/dev/gcvm" /* kmod/: the same ioctls, served by VT-x directly */

/* Opens device (KVM_DEVICE or KMOD_DEVICE) and sets up a VM with the guest runtime
 * mapped, without vCPUs. Returns 0, or -ENODEV/-EACCES/-ENOMEM/-EBUSY with a one-line
 * reason in err. */
int kvm_create_machine(struct kvm_machine *m, const char *device, char *err, size_t err_len);

/* Creates vCPU id of m in *v, set up for 64-bit ring 0 of the guest runtime (its run
 * page mapped; v->loop_stack_top is the caller's to set). Returns 0, or -ENODEV with a
 * one-line reason in err. */
int kvm_create_vcpu(const struct kvm_machine *m, unsigned id, struct vcpu *v, char *err,
                    size_t err_len);

/* Whether device opens and makes a VM now (the VM is closed again). */
bool kvm_device_usable(const char *device);

#endif
