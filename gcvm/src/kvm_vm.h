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

/* Opens /dev/kvm and sets up a VM and one vCPU in 64-bit ring 0 with the guest runtime
 * mapped. Returns 0, or -ENODEV/-EACCES/-ENOMEM with a one-line reason in err. */
int kvm_create_machine(struct kvm_machine *m, char *err, size_t err_len);

#endif
