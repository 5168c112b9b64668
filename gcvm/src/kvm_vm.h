/* Creating the KVM virtual machine and its vCPU (kvm_vm.c). */
#ifndef GCVM_KVM_VM_H
#define GCVM_KVM_VM_H

#include <stdbool.h>
#include <stddef.h>

struct kvm_machine {
    int kvm_fd, vm_fd, vcpu_fd;
    struct kvm_run *run;
    unsigned phys_bits; /* the guest's MAXPHYADDR */
    bool xsave;         /* CR4.OSXSAVE is set in the guest */
};

#define KVM_DEVICE "/dev/kvm"
#define KMOD_DEVICE "/dev/gcvm" /* kmod/: the same ioctls, served by VT-x directly */

/* Opens device (KVM_DEVICE or KMOD_DEVICE) and sets up a VM and one vCPU in 64-bit ring 0
 * with the guest runtime mapped. Returns 0, or -ENODEV/-EACCES/-ENOMEM/-EBUSY with a
 * one-line reason in err. */
int kvm_create_machine(struct kvm_machine *m, const char *device, char *err, size_t err_len);

/* Whether device opens and makes a VM now (the VM is closed again). */
bool kvm_device_usable(const char *device);

#endif
