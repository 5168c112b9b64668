// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* /dev/gcvm: the device, its VM and vCPU files, and every ioctl's argument checks.
 *
 * The ioctls are the subset of KVM's ABI (numbers and structures of <linux/kvm.h>) that
 * the engine uses, so its run loop serves both backends (docs/kmod.md). Anything else is
 * -ENOTTY. A VM belongs to the process that created it: an ioctl from another address
 * space (a child after fork) is -EIO. */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/cpufeature.h>
#include <asm/fpu/types.h>

#include "gcvm_kmod.h"

#define SUPPORTED_CPUID_MAX 64
#define SET_CPUID_MAX 256

struct gcvm_vm_file {
	struct gcvm_vm vm;
	struct kref ref;
};

static void vm_free(struct kref *ref)
{
	struct gcvm_vm_file *f = container_of(ref, struct gcvm_vm_file, ref);
	struct gcvm_vm *vm = &f->vm;

	mmu_notifier_unregister(&vm->notifier, vm->mm);
	gcvm_ept_destroy(vm);
	mmdrop(vm->mm);
	kvfree(vm->slots);
	gcvm_vmx_put();
	kfree(f);
}

static void vm_put(struct gcvm_vm *vm)
{
	kref_put(&container_of(vm, struct gcvm_vm_file, vm)->ref, vm_free);
}

/* A 48-bit canonical address: bits 63..47 all equal. */
static bool is_canonical_address(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

static bool from_owner(const struct gcvm_vm *vm)
{
	return current->mm == vm->mm;
}

/* ---- The vCPU file ---- */

static const struct file_operations vcpu_fops;

static int vcpu_release(struct inode *inode, struct file *file)
{
	struct gcvm_vcpu *v = file->private_data;
	struct gcvm_vm *vm = v->vm;

	(void)inode;
	mutex_lock(&vm->lock);
	spin_lock(&vm->ept_lock);
	vm->vcpus[v->id] = NULL;
	spin_unlock(&vm->ept_lock);
	mutex_unlock(&vm->lock);
	gcvm_vmcs_destroy(v);
	free_page((unsigned long)v->run);
	kfree(v->xsave);
	kfree(v);
	vm_put(vm);
	return 0;
}

static int vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gcvm_vcpu *v = file->private_data;

	if (vma->vm_pgoff != 0 || vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	return vm_insert_page(vma, vma->vm_start, virt_to_page(v->run));
}

/* The legacy region of the XSAVE area (SDM vol. 1, 10.5.1) and struct kvm_fpu. */
struct legacy_region {
	u16 fcw, fsw;
	u8 ftw, reserved0;
	u16 fop;
	u64 fip, fdp;
	u32 mxcsr, mxcsr_mask;
	u8 st[8][16];
	u8 xmm[16][16];
	u8 reserved1[96];
	u64 xstate_bv, xcomp_bv;
	u64 header_reserved[6];
};

static int get_fpu(struct gcvm_vcpu *v, void __user *arg)
{
	const struct legacy_region *x = v->xsave;
	struct kvm_fpu fpu = {.fcw = x->fcw,
			      .fsw = x->fsw,
			      .ftwx = x->ftw,
			      .last_opcode = x->fop,
			      .last_ip = x->fip,
			      .last_dp = x->fdp,
			      .mxcsr = x->mxcsr};

	memcpy(fpu.fpr, x->st, sizeof fpu.fpr);
	memcpy(fpu.xmm, x->xmm, sizeof fpu.xmm);
	return copy_to_user(arg, &fpu, sizeof fpu) ? -EFAULT : 0;
}

static int set_fpu(struct gcvm_vcpu *v, void __user *arg)
{
	struct legacy_region *x = v->xsave;
	struct kvm_fpu fpu;

	if (copy_from_user(&fpu, arg, sizeof fpu))
		return -EFAULT;
	if (fpu.mxcsr & ~x->mxcsr_mask)
		return -EINVAL; /* XRSTOR would fault on reserved MXCSR bits */
	x->fcw = fpu.fcw, x->fsw = fpu.fsw, x->ftw = fpu.ftwx, x->fop = fpu.last_opcode;
	x->fip = fpu.last_ip, x->fdp = fpu.last_dp, x->mxcsr = fpu.mxcsr;
	memcpy(x->st, fpu.fpr, sizeof fpu.fpr);
	memcpy(x->xmm, fpu.xmm, sizeof fpu.xmm);
	x->xstate_bv |= XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	return 0;
}

static int get_xsave(struct gcvm_vcpu *v, void __user *arg)
{
	struct kvm_xsave *x = kzalloc(sizeof *x, GFP_KERNEL);
	int rc;

	if (!x)
		return -ENOMEM;
	memcpy(x, v->xsave, v->xsave_bytes);
	rc = copy_to_user(arg, x, sizeof *x) ? -EFAULT : 0;
	kfree(x);
	return rc;
}

/* A new extended state, checked as XRSTOR would check it (a bad one would fault in the
 * kernel): standard format, no feature the host has not enabled, reserved bits clear. */
static int set_xsave(struct gcvm_vcpu *v, void __user *arg)
{
	struct kvm_xsave *x = kmalloc(sizeof *x, GFP_KERNEL);
	const struct legacy_region *l = (const void *)x;
	const struct legacy_region *now = v->xsave;
	int rc = 0, i;

	if (!x)
		return -ENOMEM;
	if (copy_from_user(x, arg, sizeof *x)) {
		rc = -EFAULT;
		goto out;
	}
	if (l->mxcsr & ~now->mxcsr_mask)
		rc = -EINVAL;
	if (gcvm_host_xcr0()) { /* FXRSTOR reads no header */
		if ((l->xstate_bv & ~gcvm_host_xcr0()) || l->xcomp_bv)
			rc = -EINVAL;
		for (i = 0; i < 6; i++)
			if (l->header_reserved[i])
				rc = -EINVAL;
	}
	if (rc == 0) {
		u32 mask = now->mxcsr_mask;

		memcpy(v->xsave, x, v->xsave_bytes);
		((struct legacy_region *)v->xsave)->mxcsr_mask = mask;
	}
out:
	kfree(x);
	return rc;
}

static int set_msrs(struct gcvm_vcpu *v, void __user *arg)
{
	struct kvm_msrs head;
	struct kvm_msr_entry e;
	u32 i;

	if (copy_from_user(&head, arg, sizeof head))
		return -EFAULT;
	if (head.nmsrs > 64)
		return -E2BIG;
	for (i = 0; i < head.nmsrs; i++) {
		if (copy_from_user(
			    &e,
			    (struct kvm_msr_entry __user *)((char __user *)arg + sizeof head) + i,
			    sizeof e))
			return -EFAULT;
		if (!is_canonical_address(e.data) && e.index != MSR_STAR &&
		    e.index != MSR_SYSCALL_MASK)
			break;
		switch (e.index) {
		case MSR_STAR: v->star = e.data; break;
		case MSR_LSTAR: v->lstar = e.data; break;
		case MSR_CSTAR: v->cstar = e.data; break;
		case MSR_SYSCALL_MASK: v->sfmask = e.data; break;
		default: return i; /* as KVM: the number set before the first it cannot */
		}
	}
	return i;
}

static int set_regs(struct gcvm_vcpu *v, void __user *arg)
{
	struct kvm_regs r;

	if (copy_from_user(&r, arg, sizeof r))
		return -EFAULT;
	if (!is_canonical_address(r.rip))
		return -EINVAL;
	v->regs[R_RAX] = r.rax, v->regs[R_RBX] = r.rbx, v->regs[R_RCX] = r.rcx;
	v->regs[R_RDX] = r.rdx, v->regs[R_RSI] = r.rsi, v->regs[R_RDI] = r.rdi;
	v->regs[R_RBP] = r.rbp, v->regs[R_R8] = r.r8, v->regs[R_R9] = r.r9;
	v->regs[R_R10] = r.r10, v->regs[R_R11] = r.r11, v->regs[R_R12] = r.r12;
	v->regs[R_R13] = r.r13, v->regs[R_R14] = r.r14, v->regs[R_R15] = r.r15;
	v->rsp = r.rsp, v->rip = r.rip;
	v->rflags = gcvm_guest_rflags(r.rflags);
	return 0;
}

static int get_regs(struct gcvm_vcpu *v, void __user *arg)
{
	struct kvm_regs r = {
		.rax = v->regs[R_RAX],
		.rbx = v->regs[R_RBX],
		.rcx = v->regs[R_RCX],
		.rdx = v->regs[R_RDX],
		.rsi = v->regs[R_RSI],
		.rdi = v->regs[R_RDI],
		.rbp = v->regs[R_RBP],
		.r8 = v->regs[R_R8],
		.r9 = v->regs[R_R9],
		.r10 = v->regs[R_R10],
		.r11 = v->regs[R_R11],
		.r12 = v->regs[R_R12],
		.r13 = v->regs[R_R13],
		.r14 = v->regs[R_R14],
		.r15 = v->regs[R_R15],
		.rsp = v->rsp,
		.rip = v->rip,
		.rflags = v->rflags,
	};

	return copy_to_user(arg, &r, sizeof r) ? -EFAULT : 0;
}

/* The guest must be what the module runs: 64-bit paged ring 0. Anything else would make
 * every VM entry fail; it is refused here with -EINVAL instead. */
static int set_sregs(struct gcvm_vcpu *v, void __user *arg)
{
	struct kvm_sregs s;

	if (copy_from_user(&s, arg, sizeof s))
		return -EFAULT;
	if (!(s.cr0 & X86_CR0_PG) || !(s.cr0 & X86_CR0_PE) || !(s.cr4 & X86_CR4_PAE) ||
	    !(s.efer & EFER_LMA) || !(s.efer & EFER_LME) || !s.cs.l || s.cs.dpl != 0 ||
	    (s.cr4 & X86_CR4_VMXE) || (s.cr3 & 0xfff0000000000fe7ull) ||
	    !is_canonical_address(s.fs.base) || !is_canonical_address(s.gs.base) ||
	    !is_canonical_address(s.gdt.base) || !is_canonical_address(s.idt.base) ||
	    !is_canonical_address(s.tr.base))
		return -EINVAL;
	if ((s.cr4 & X86_CR4_OSXSAVE) && !boot_cpu_has(X86_FEATURE_OSXSAVE))
		return -EINVAL;
	v->sregs = s;
	v->sregs.ldt.unusable = 1;
	v->sregs_dirty = true;
	return 0;
}

static int set_xcrs(struct gcvm_vcpu *v, void __user *arg)
{
	struct kvm_xcrs x;
	u32 i;

	(void)v;
	if (copy_from_user(&x, arg, sizeof x))
		return -EFAULT;
	if (x.nr_xcrs > KVM_MAX_XCRS)
		return -EINVAL;
	/* The guest runs with the host's XCR0 (VT-x does not switch it). */
	for (i = 0; i < x.nr_xcrs; i++)
		if (x.xcrs[i].xcr != 0 || x.xcrs[i].value != gcvm_host_xcr0())
			return -EINVAL;
	return 0;
}

/* The guest sees the host's CPUID (less VMX); the table user space sets is checked for
 * size only. */
static int set_cpuid2(struct gcvm_vcpu *v, void __user *arg)
{
	struct kvm_cpuid2 head;

	(void)v;
	if (copy_from_user(&head, arg, sizeof head))
		return -EFAULT;
	return head.nent > SET_CPUID_MAX ? -E2BIG : 0;
}

static long vcpu_command(struct gcvm_vcpu *v, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KVM_RUN: return arg ? -EINVAL : gcvm_vcpu_run(v);
	case KVM_GET_REGS: return get_regs(v, uarg);
	case KVM_SET_REGS: return set_regs(v, uarg);
	case KVM_GET_SREGS: return copy_to_user(uarg, &v->sregs, sizeof v->sregs) ? -EFAULT : 0;
	case KVM_SET_SREGS: return set_sregs(v, uarg);
	case KVM_GET_FPU: return get_fpu(v, uarg);
	case KVM_SET_FPU: return set_fpu(v, uarg);
	case KVM_GET_XSAVE: return get_xsave(v, uarg);
	case KVM_SET_XSAVE: return set_xsave(v, uarg);
	case KVM_SET_MSRS: return set_msrs(v, uarg);
	case KVM_SET_XCRS: return set_xcrs(v, uarg);
	case KVM_SET_CPUID2: return set_cpuid2(v, uarg);
	default: return -ENOTTY;
	}
}

/* A vCPU's state is one thread's at a time: another thread's ioctl on it waits (a
 * VMCS may be active on one CPU only). */
static long vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct gcvm_vcpu *v = file->private_data;
	long rc;

	if (!from_owner(v->vm))
		return -EIO;
	if (mutex_lock_killable(&v->run_lock))
		return -EINTR;
	rc = vcpu_command(v, cmd, arg);
	mutex_unlock(&v->run_lock);
	return rc;
}

static const struct file_operations vcpu_fops = {
	.owner = THIS_MODULE,
	.release = vcpu_release,
	.unlocked_ioctl = vcpu_ioctl,
	.mmap = vcpu_mmap,
	.llseek = noop_llseek,
};

/* ---- The VM file ---- */

static int create_vcpu(struct gcvm_vm *vm, unsigned long id)
{
	struct gcvm_vcpu *v;
	int fd, rc;

	if (id >= GCVM_MAX_VCPUS)
		return -EINVAL;
	if (gcvm_host_xcr0() && cpuid_ebx(0xd) > GCVM_XSAVE_MAX)
		return -ENODEV; /* an extended state larger than struct kvm_xsave (AMX) */
	v = kzalloc(sizeof *v, GFP_KERNEL_ACCOUNT);
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	mutex_init(&v->run_lock);
	v->run = (struct kvm_run *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	v->xsave_bytes = gcvm_host_xcr0() ? cpuid_ebx(0xd) : 512; /* what XCR0's features need */
	v->xsave = kzalloc(GCVM_XSAVE_MAX, GFP_KERNEL_ACCOUNT);
	rc = v->run && v->xsave ? gcvm_vmcs_create(v) : -ENOMEM;
	if (rc == 0) {
		struct legacy_region *x = v->xsave;

		x->fcw = 0x37f; /* the state after reset */
		x->mxcsr = 0x1f80;
		x->mxcsr_mask = 0xffff;
		v->rflags = 2;
		mutex_lock(&vm->lock);
		rc = vm->vcpus[id] ? -EEXIST : 0;
		if (rc == 0) {
			kref_get(&container_of(vm, struct gcvm_vm_file, vm)->ref);
			fd = anon_inode_getfd("gcvm-vcpu", &vcpu_fops, v, O_RDWR | O_CLOEXEC);
			if (fd < 0) {
				rc = fd;
				kref_put(&container_of(vm, struct gcvm_vm_file, vm)->ref, vm_free);
			} else {
				spin_lock(&vm->ept_lock);
				vm->vcpus[id] = v;
				spin_unlock(&vm->ept_lock);
			}
		}
		mutex_unlock(&vm->lock);
		if (rc == 0)
			return fd;
		gcvm_vmcs_destroy(v);
	}
	free_page((unsigned long)v->run);
	kfree(v->xsave);
	kfree(v);
	return rc;
}

static int set_memory_region(struct gcvm_vm *vm, void __user *arg)
{
	struct kvm_userspace_memory_region r;
	struct gcvm_slot *slot;
	u32 i;
	int rc = 0;

	if (copy_from_user(&r, arg, sizeof r))
		return -EFAULT;
	if (r.flags || r.slot >= GCVM_MAX_SLOTS ||
	    (r.guest_phys_addr | r.memory_size | r.userspace_addr) & 0xfff ||
	    r.guest_phys_addr + r.memory_size < r.guest_phys_addr ||
	    r.guest_phys_addr + r.memory_size > (1ull << 48) ||
	    (r.memory_size &&
	     !access_ok((void __user *)(unsigned long)r.userspace_addr, r.memory_size)))
		return -EINVAL;
	mutex_lock(&vm->lock);
	for (i = 0; i < vm->slot_count && r.memory_size; i++) {
		const struct gcvm_slot *s = &vm->slots[i];

		if (i != r.slot && s->size && r.guest_phys_addr < s->gpa + s->size &&
		    s->gpa < r.guest_phys_addr + r.memory_size)
			rc = -EEXIST; /* overlaps another slot */
	}
	if (rc == 0 && r.slot >= vm->slot_capacity) {
		u32 cap = max_t(u32, 64, r.slot + 1);
		struct gcvm_slot *grown;

		cap = max_t(u32, cap, vm->slot_capacity * 2);
		cap = min_t(u32, cap, GCVM_MAX_SLOTS);
		grown = kvcalloc(cap, sizeof *grown, GFP_KERNEL_ACCOUNT);
		if (!grown) {
			rc = -ENOMEM;
		} else {
			struct gcvm_slot *old = vm->slots;

			spin_lock(&vm->ept_lock);
			if (old)
				memcpy(grown, old, vm->slot_count * sizeof *grown);
			vm->slots = grown;
			vm->slot_capacity = cap;
			spin_unlock(&vm->ept_lock);
			kvfree(old);
		}
	}
	if (rc == 0) {
		slot = &vm->slots[r.slot];
		if (slot->size)
			gcvm_ept_zap_gpa(vm, slot->gpa, slot->size); /* moved or deleted */
		spin_lock(&vm->ept_lock);
		*slot = (struct gcvm_slot){
			.gpa = r.guest_phys_addr, .size = r.memory_size, .hva = r.userspace_addr};
		vm->slot_count = max(vm->slot_count, r.slot + 1);
		spin_unlock(&vm->ept_lock);
	}
	mutex_unlock(&vm->lock);
	return rc;
}

static long vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct gcvm_vm *vm = file->private_data;

	if (!from_owner(vm))
		return -EIO;
	switch (cmd) {
	case KVM_CREATE_VCPU: return create_vcpu(vm, arg);
	case KVM_SET_USER_MEMORY_REGION: return set_memory_region(vm, (void __user *)arg);
	default: return -ENOTTY;
	}
}

static int vm_release(struct inode *inode, struct file *file)
{
	(void)inode;
	vm_put(file->private_data);
	return 0;
}

static const struct file_operations vm_fops = {
	.owner = THIS_MODULE,
	.release = vm_release,
	.unlocked_ioctl = vm_ioctl,
	.llseek = noop_llseek,
};

/* ---- /dev/gcvm ---- */

static int create_vm(unsigned long type)
{
	struct gcvm_vm_file *f;
	struct gcvm_vm *vm;
	int rc, fd;

	if (type != 0)
		return -EINVAL;
	rc = gcvm_vmx_get();
	if (rc)
		return rc;
	f = kzalloc(sizeof *f, GFP_KERNEL_ACCOUNT);
	if (!f) {
		gcvm_vmx_put();
		return -ENOMEM;
	}
	vm = &f->vm;
	kref_init(&f->ref);
	mutex_init(&vm->lock);
	spin_lock_init(&vm->ept_lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	vm->notifier.ops = &gcvm_mmu_notifier_ops;
	rc = gcvm_ept_init(vm);
	if (rc == 0)
		rc = mmu_notifier_register(&vm->notifier, vm->mm);
	if (rc) {
		gcvm_ept_destroy(vm);
		mmdrop(vm->mm);
		kfree(f);
		gcvm_vmx_put();
		return rc;
	}
	fd = anon_inode_getfd("gcvm-vm", &vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		vm_put(vm);
	return fd;
}

/* The host's CPUID leaves the engine reads, as the guest sees them. */
static int get_supported_cpuid(void __user *arg)
{
	static const u32 leaves[][2] = {{0, 0},		 {1, 0},	 {7, 0},
					{0xd, 0},	 {0xd, 1},	 {0x80000000, 0},
					{0x80000001, 0}, {0x80000008, 0}};
	struct kvm_cpuid2 head;
	struct kvm_cpuid_entry2 e;
	u32 i, n = ARRAY_SIZE(leaves);

	if (copy_from_user(&head, arg, sizeof head))
		return -EFAULT;
	if (head.nent < n)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof e);
		e.function = leaves[i][0];
		e.index = leaves[i][1];
		e.flags =
			e.function == 7 || e.function == 0xd ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
		gcvm_guest_cpuid(e.function, e.index, &e.eax, &e.ebx, &e.ecx, &e.edx);
		if (copy_to_user(
			    (struct kvm_cpuid_entry2 __user *)((char __user *)arg + sizeof head) +
				    i,
			    &e, sizeof e))
			return -EFAULT;
	}
	head.nent = n;
	return copy_to_user(arg, &head, sizeof head) ? -EFAULT : 0;
}

static long dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	(void)file;
	switch (cmd) {
	case KVM_GET_API_VERSION: return arg ? -EINVAL : KVM_API_VERSION;
	case KVM_CREATE_VM: return create_vm(arg);
	case KVM_GET_VCPU_MMAP_SIZE: return arg ? -EINVAL : PAGE_SIZE;
	case KVM_GET_SUPPORTED_CPUID: return get_supported_cpuid((void __user *)arg);
	case KVM_CHECK_EXTENSION: return 0;
	default: return -ENOTTY;
	}
}

static const struct file_operations dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dev_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice gcvm_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gcvm",
	.fops = &dev_fops,
	.mode = 0666,
};

static int __init gcvm_init(void)
{
	int rc = gcvm_vmx_check_cpu();

	if (rc)
		return rc;
	rc = misc_register(&gcvm_device);
	if (rc == 0)
		pr_info("gcvm: /dev/gcvm ready (VT-x with EPT and VPID)\n");
	return rc;
}

static void __exit gcvm_exit(void)
{
	misc_deregister(&gcvm_device);
}

module_init(gcvm_init);
module_exit(gcvm_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION(
	"gcvm: run the calling thread in VMX non-root ring 0 (the engine's kmod backend)");
