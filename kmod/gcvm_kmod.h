/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/* The kernel module's state: one VM per file opened by KVM_CREATE_VM on /dev/gcvm, and up
 * to GCVM_MAX_VCPUS vCPUs in it, each with its own VMCS, which any thread of the process
 * may run (one thread at a time per vCPU). The module speaks the subset of KVM's ioctl ABI that the
 * engine uses (docs/kmod.md), so gcvm/src's run loop serves both backends. */
#ifndef GCVM_KMOD_H
#define GCVM_KMOD_H

#include <linux/kvm.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#define GCVM_MAX_SLOTS 32768
#define GCVM_MAX_VCPUS 64
#define GCVM_XSAVE_MAX 4096

/* Guest general-purpose registers, in the order vmx_entry.S saves them. */
enum gcvm_reg {
	R_RAX,
	R_RCX,
	R_RDX,
	R_RBX,
	R_RBP,
	R_RSI,
	R_RDI,
	R_R8,
	R_R9,
	R_R10,
	R_R11,
	R_R12,
	R_R13,
	R_R14,
	R_R15,
	R_CR2,
	R_COUNT
};

struct gcvm_slot {
	u64 gpa, size, hva; /* size 0: unused */
};

struct gcvm_vm {
	struct mm_struct *mm; /* the creating process's; every ioctl must come from it */
	struct mmu_notifier notifier;
	struct mutex lock; /* slots (with ept_lock), vCPU creation */
	struct gcvm_slot *slots; /* indexed by slot id */
	u32 slot_capacity;
	u32 slot_count; /* highest used id + 1 */
	spinlock_t ept_lock; /* EPT tables and the invalidation counters */
	u64 *ept_root; /* PML4 of the EPT, kernel virtual */
	unsigned long invalidate_seq; /* bumped by every invalidation */
	int invalidate_active; /* invalidations in progress */
	struct gcvm_vcpu *vcpus[GCVM_MAX_VCPUS]; /* by id; set and cleared under ept_lock */
};

struct gcvm_vcpu {
	struct gcvm_vm *vm;
	u32 id;
	struct mutex run_lock; /* one thread at a time in a vCPU's ioctls */
	struct kvm_run *run; /* the page user space maps */
	void *vmcs;
	int cpu; /* where the VMCS was last loaded, -1: nowhere */
	bool launched;
	bool sregs_dirty; /* kvm_sregs must be written to the VMCS */
	bool flush_ept; /* an invalidation happened: INVEPT before entry */
	int in_guest_cpu; /* CPU running the guest now, -1 when not */
	u64 timer_exits[2]; /* exits by the preemption timer, by the guest's RFLAGS.IF */
	u16 vpid;
	struct { /* the last exit, read before preemption came back */
		u64 qualification, gpa;
		u32 intr_info, insn_len, error;
	} exit;
	u64 regs[R_COUNT];
	u64 rip, rsp, rflags;
	struct kvm_sregs sregs;
	u64 star, lstar, cstar, sfmask;
	void *xsave; /* the guest's extended state, XSAVE format */
	unsigned int xsave_bytes;
};

/* RFLAGS the module lets a guest run with: reserved bits clear, bit 1 set, and no VM
 * (virtual-8086 mode, which the CPU refuses in a 64-bit guest). */
static inline u64 gcvm_guest_rflags(u64 rflags)
{
	return (rflags & 0x3d7fd5) | 2;
}

/* vmx.c: VT-x itself. */
int gcvm_vmx_check_cpu(void);
int gcvm_vmx_get(void);
void gcvm_vmx_put(void);
int gcvm_vmcs_create(struct gcvm_vcpu *v);
void gcvm_vmcs_destroy(struct gcvm_vcpu *v);
int gcvm_vcpu_run(struct gcvm_vcpu *v);
u64 gcvm_host_xcr0(void);
/* CPUID as the guest sees it: the host's, less VMX. */
void gcvm_guest_cpuid(u32 function, u32 index, u32 *a, u32 *b, u32 *c, u32 *d);

/* syscalls.c: system calls made in the kernel. */
enum gcvm_syscall_outcome {
	GCVM_SYSCALL_TO_ENGINE, /* not made here: the engine makes it in user space */
	GCVM_SYSCALL_DONE, /* made: the result is in RAX, the guest resumes at RCX */
	GCVM_SYSCALL_AGAIN, /* a signal interrupted it before it did anything: the guest
			     * stays at its request and makes it again after the signal */
};
/* Makes the system call the guest asked for (number and arguments in its registers), as
 * the calling task, if the module can make it in the kernel (docs/kmod.md). */
enum gcvm_syscall_outcome gcvm_syscall_in_kernel(struct gcvm_vcpu *v);

/* ept.c: the guest-physical to host-physical tables, kept in step with the process. */
int gcvm_ept_init(struct gcvm_vm *vm);
void gcvm_ept_destroy(struct gcvm_vm *vm);
int gcvm_ept_fault(struct gcvm_vm *vm, u64 gpa, bool write);
void gcvm_ept_zap_gpa(struct gcvm_vm *vm, u64 gpa, u64 size);
u64 gcvm_ept_pointer(struct gcvm_vm *vm);
struct gcvm_slot *gcvm_slot_by_gpa(struct gcvm_vm *vm, u64 gpa);

/* vmx_entry.S: enters the guest; returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed. */
int gcvm_vmx_enter(u64 *regs, int launched);
extern char gcvm_vmx_exit[]; /* where a VM exit lands (HOST_RIP) */

extern const struct mmu_notifier_ops gcvm_mmu_notifier_ops;

#endif
