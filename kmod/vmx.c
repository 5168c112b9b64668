// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* VT-x: VMX operation on every CPU while a VM exists, the VMCS of a vCPU, and the loop
 * that runs the guest and serves the exits the kernel can serve itself (docs/kmod.md).
 *
 * The guest is the calling thread, in ring 0 of its own page tables, so most of the VMCS
 * is fixed: 64-bit mode, no interrupts of its own, every exception handled by its own IDT
 * without an exit. What would reach beyond the process exits: I/O (the engine's
 * hypercalls), MSRs, control registers other than CR3 (CR8 is the host's APIC priority),
 * debug registers, HLT, MWAIT/MONITOR, RDPMC, WBINVD, and CPUID (emulated). Host
 * interrupts exit too, and the VMX-preemption timer bounds each stay in the guest
 * (docs/kmod.md, "Leaving the guest for the host"). */
#include <linux/cpu.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/task_work.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/cpufeature.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "gcvm_kmod.h"
#include "guest_abi.h"

/* What this CPU's VMX allows, read once. */
static struct {
	u32 revision;
	bool true_controls;
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept_vpid_cap;
	u32 timer_ticks; /* VMX-preemption timer value for two host ticks; 0: no timer */
} caps;

static DEFINE_MUTEX(vmx_users_lock);
static int vmx_users;
static DEFINE_PER_CPU(void *, vmxon_region);
static DEFINE_IDA(vpid_ida);

/* ---- VMX instructions ---- */

static u64 vmread(unsigned long field)
{
	unsigned long value;

	asm volatile("vmread %1, %0" : "=rm"(value) : "r"(field) : "cc");
	return value;
}

static void vmwrite(unsigned long field, u64 value)
{
	asm volatile("vmwrite %0, %1" : : "rm"(value), "r"(field) : "cc");
}

/* VMXON, VMCLEAR and VMPTRLD on a physical address: true if it succeeded (neither CF
 * nor ZF set). */
static bool vmxon(u64 pa)
{
	bool failed;

	asm volatile("vmxon %1; setbe %0" : "=q"(failed) : "m"(pa) : "cc", "memory");
	return !failed;
}

static bool vmclear(u64 pa)
{
	bool failed;

	asm volatile("vmclear %1; setbe %0" : "=q"(failed) : "m"(pa) : "cc", "memory");
	return !failed;
}

static bool vmptrld(u64 pa)
{
	bool failed;

	asm volatile("vmptrld %1; setbe %0" : "=q"(failed) : "m"(pa) : "cc", "memory");
	return !failed;
}

static void invept_context(u64 eptp)
{
	struct {
		u64 eptp, zero;
	} desc = {eptp, 0};

	asm volatile("invept %0, %1"
		     :
		     : "m"(desc), "r"((u64)VMX_EPT_EXTENT_CONTEXT)
		     : "cc", "memory");
}

static void invvpid_context(u16 vpid)
{
	struct {
		u64 vpid, address;
	} desc = {vpid, 0};

	asm volatile("invvpid %0, %1"
		     :
		     : "m"(desc), "r"((u64)VMX_VPID_EXTENT_SINGLE_CONTEXT)
		     : "cc", "memory");
}

/* ---- Capabilities ---- */

/* A control word: the bits wanted, plus those the CPU requires; -1 if a wanted bit is not
 * allowed. The MSR's low half says which bits must be 1, its high half which may be 1. */
static int adjust_controls(u32 want, u32 msr, u32 *out)
{
	u64 allowed;

	rdmsrl(msr, allowed);
	if (want & ~(u32)(allowed >> 32))
		return -1;
	*out = (want | (u32)allowed) & (u32)(allowed >> 32);
	return 0;
}

/* The VMX-preemption timer's count for two of the host's timer ticks, or 0 where the CPU
 * has no such timer. It counts down once every 2^rate TSC cycles (IA32_VMX_MISC bits
 * 4:0) while the guest runs, and its expiry exits whatever the guest's RFLAGS.IF
 * (docs/kmod.md, "Leaving the guest for the host"). */
static u32 preemption_timer_ticks(void)
{
	u64 pin_allowed, misc, cycles;

	rdmsrl(caps.true_controls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
	       pin_allowed);
	if (!((pin_allowed >> 32) & PIN_BASED_VMX_PREEMPTION_TIMER))
		return 0;
	rdmsrl(MSR_IA32_VMX_MISC, misc);
	cycles = (tsc_khz ? (u64)tsc_khz * 1000 : 1000000000ull) / HZ * 2;
	cycles >>= misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK;
	return (u32)clamp_val(cycles, 1, U32_MAX);
}

int gcvm_vmx_check_cpu(void)
{
	u64 basic, feature;

	if (boot_cpu_data.x86_vendor != X86_VENDOR_INTEL)
		return pr_info("gcvm: this CPU is not Intel; the module needs VT-x (use "
			       "GCVM_BACKEND=kvm)\n"),
		       -ENODEV;
	if (!boot_cpu_has(X86_FEATURE_VMX))
		return pr_info("gcvm: VT-x is absent or disabled in the firmware\n"), -ENODEV;
	rdmsrl(MSR_IA32_FEAT_CTL, feature);
	if (!(feature & FEAT_CTL_LOCKED) || !(feature & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return pr_info("gcvm: VT-x is disabled in the firmware (IA32_FEATURE_CONTROL)\n"),
		       -ENODEV;
	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	caps.revision = (u32)basic & 0x7fffffff;
	caps.true_controls = basic & VMX_BASIC_TRUE_CTLS;
	if (adjust_controls(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING,
			    caps.true_controls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
					       : MSR_IA32_VMX_PINBASED_CTLS,
			    &caps.pin) ||
	    adjust_controls(CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
				    CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
				    CPU_BASED_MOV_DR_EXITING | CPU_BASED_MWAIT_EXITING |
				    CPU_BASED_MONITOR_EXITING | CPU_BASED_RDPMC_EXITING |
				    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
			    caps.true_controls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					       : MSR_IA32_VMX_PROCBASED_CTLS,
			    &caps.proc) ||
	    adjust_controls(SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID |
				    SECONDARY_EXEC_WBINVD_EXITING,
			    MSR_IA32_VMX_PROCBASED_CTLS2, &caps.proc2) ||
	    adjust_controls(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER,
			    caps.true_controls ? MSR_IA32_VMX_TRUE_EXIT_CTLS
					       : MSR_IA32_VMX_EXIT_CTLS,
			    &caps.exit) ||
	    adjust_controls(VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER,
			    caps.true_controls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS
					       : MSR_IA32_VMX_ENTRY_CTLS,
			    &caps.entry))
		return pr_info("gcvm: this CPU's VT-x lacks EPT, VPID or a control the module "
			       "needs\n"),
		       -ENODEV;
	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, caps.ept_vpid_cap);
	if (!(caps.ept_vpid_cap & VMX_EPT_PAGE_WALK_4_BIT) ||
	    !(caps.ept_vpid_cap & VMX_EPTP_WB_BIT) ||
	    !(caps.ept_vpid_cap & VMX_EPT_EXTENT_CONTEXT_BIT) ||
	    !((caps.ept_vpid_cap >> 32) &
	      VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT)) /* VPID bits: high half */
		return pr_info("gcvm: this CPU's EPT lacks 4-level walks, write-back memory or "
			       "INVEPT/INVVPID by context (%#llx)\n",
			       caps.ept_vpid_cap),
		       -ENODEV;
	caps.timer_ticks = preemption_timer_ticks();
	if (caps.timer_ticks)
		caps.pin |= PIN_BASED_VMX_PREEMPTION_TIMER;
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, caps.cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, caps.cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, caps.cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, caps.cr4_fixed1);
	return 0;
}

/* ---- VMX operation on every CPU, while some VM exists ---- */

static void vmxon_this_cpu(void *failures)
{
	void *region = this_cpu_read(vmxon_region);

	if (__read_cr4() & X86_CR4_VMXE) { /* another hypervisor has VMX on here */
		atomic_inc(failures);
		return;
	}
	*(u32 *)region = caps.revision;
	cr4_set_bits(X86_CR4_VMXE);
	if (!vmxon(__pa(region))) {
		cr4_clear_bits(X86_CR4_VMXE);
		atomic_inc(failures);
		return;
	}
	this_cpu_write(vmxon_region, (void *)((unsigned long)region | 1)); /* on */
}

static void vmxoff_this_cpu(void *unused)
{
	unsigned long region = (unsigned long)this_cpu_read(vmxon_region);

	(void)unused;
	if (!(region & 1))
		return;
	asm volatile("vmxoff" : : : "cc");
	cr4_clear_bits(X86_CR4_VMXE);
	this_cpu_write(vmxon_region, (void *)(region & ~1ul));
}

static void free_vmxon_regions(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
	{
		unsigned long region = (unsigned long)per_cpu(vmxon_region, cpu);

		free_page(region & ~1ul);
		per_cpu(vmxon_region, cpu) = NULL;
	}
}

int gcvm_vmx_get(void)
{
	atomic_t failures = ATOMIC_INIT(0);
	int cpu, rc = 0;

	mutex_lock(&vmx_users_lock);
	if (vmx_users++ > 0)
		goto out;
	cpus_read_lock();
	for_each_possible_cpu(cpu)
	{
		per_cpu(vmxon_region, cpu) = (void *)get_zeroed_page(GFP_KERNEL);
		if (!per_cpu(vmxon_region, cpu))
			rc = -ENOMEM;
	}
	if (rc == 0) {
		on_each_cpu(vmxon_this_cpu, &failures, 1);
		if (atomic_read(&failures)) {
			pr_info_ratelimited("gcvm: VMXON failed on %d CPU(s): another hypervisor "
					    "(KVM with a running VM?) holds VT-x\n",
					    atomic_read(&failures));
			rc = -EBUSY;
		}
	}
	if (rc) {
		on_each_cpu(vmxoff_this_cpu, NULL, 1);
		free_vmxon_regions();
		vmx_users = 0;
	}
	cpus_read_unlock();
out:
	mutex_unlock(&vmx_users_lock);
	return rc;
}

void gcvm_vmx_put(void)
{
	mutex_lock(&vmx_users_lock);
	if (--vmx_users == 0) {
		cpus_read_lock();
		on_each_cpu(vmxoff_this_cpu, NULL, 1);
		free_vmxon_regions();
		cpus_read_unlock();
	}
	mutex_unlock(&vmx_users_lock);
}

u64 gcvm_host_xcr0(void)
{
	return boot_cpu_has(X86_FEATURE_OSXSAVE) ? xgetbv(XCR_XFEATURE_ENABLED_MASK) : 0;
}

/* ---- The VMCS ---- */

struct msr_entry {
	u32 index, reserved;
	u64 value;
};

/* The MSRs that differ between guest and host: loaded at entry, restored at exit. Both
 * areas share the page after the VMCS. */
static const u32 switched_msrs[] = {MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK};
#define SWITCHED_MSRS ARRAY_SIZE(switched_msrs)

static struct msr_entry *guest_msr_area(struct gcvm_vcpu *v)
{
	return (struct msr_entry *)((char *)v->vmcs + PAGE_SIZE);
}

static struct msr_entry *host_msr_area(struct gcvm_vcpu *v)
{
	return guest_msr_area(v) + SWITCHED_MSRS;
}

int gcvm_vmcs_create(struct gcvm_vcpu *v)
{
	int vpid = ida_alloc_range(&vpid_ida, 1, 0xffff, GFP_KERNEL);

	if (vpid < 0)
		return vpid;
	v->vpid = (u16)vpid;
	v->vmcs = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, 1);
	if (!v->vmcs) {
		ida_free(&vpid_ida, vpid);
		return -ENOMEM;
	}
	*(u32 *)v->vmcs = caps.revision;
	v->cpu = -1;
	v->in_guest_cpu = -1;
	return 0;
}

static void vmclear_on_cpu(void *arg)
{
	struct gcvm_vcpu *v = arg;

	vmclear(__pa(v->vmcs));
}

void gcvm_vmcs_destroy(struct gcvm_vcpu *v)
{
	if (!v->vmcs)
		return;
	if (v->timer_exits[0] || v->timer_exits[1])
		pr_debug("gcvm: vCPU %u left the guest %llu times by the preemption timer with the "
			 "guest's interrupts off, %llu with them on\n",
			 v->id, v->timer_exits[0], v->timer_exits[1]);
	if (v->cpu >= 0)
		smp_call_function_single(v->cpu, vmclear_on_cpu, v, 1);
	free_pages((unsigned long)v->vmcs, 1);
	v->vmcs = NULL;
	ida_free(&vpid_ida, v->vpid);
}

static u32 segment_access_rights(const struct kvm_segment *s)
{
	if (s->unusable || !s->present)
		return 1u << 16;
	return s->type | (s->s << 4) | (s->dpl << 5) | (s->present << 7) | (s->avl << 12) |
		(s->l << 13) | (s->db << 14) | (s->g << 15);
}

static void write_segment(int index, const struct kvm_segment *s)
{
	vmwrite(GUEST_ES_SELECTOR + 2 * index, s->selector);
	vmwrite(GUEST_ES_BASE + 2 * index, s->base);
	vmwrite(GUEST_ES_LIMIT + 2 * index, s->limit);
	vmwrite(GUEST_ES_AR_BYTES + 2 * index, segment_access_rights(s));
}

/* The guest's control registers, segments and tables, from struct kvm_sregs. The CPU
 * requires some CR0 and CR4 bits in VMX operation (CR4.VMXE among them): the guest reads
 * its own values from the shadows, and any write to CR0 or CR4 exits. */
static void write_guest_sregs(struct gcvm_vcpu *v)
{
	const struct kvm_sregs *s = &v->sregs;

	write_segment(0, &s->es);
	write_segment(1, &s->cs);
	write_segment(2, &s->ss);
	write_segment(3, &s->ds);
	write_segment(4, &s->fs);
	write_segment(5, &s->gs);
	write_segment(6, &s->ldt);
	write_segment(7, &s->tr);
	vmwrite(GUEST_GDTR_BASE, s->gdt.base);
	vmwrite(GUEST_GDTR_LIMIT, s->gdt.limit);
	vmwrite(GUEST_IDTR_BASE, s->idt.base);
	vmwrite(GUEST_IDTR_LIMIT, s->idt.limit);
	vmwrite(GUEST_CR0, (s->cr0 | caps.cr0_fixed0) & caps.cr0_fixed1);
	vmwrite(CR0_READ_SHADOW, s->cr0);
	vmwrite(GUEST_CR4, (s->cr4 | caps.cr4_fixed0) & caps.cr4_fixed1);
	vmwrite(CR4_READ_SHADOW, s->cr4);
	vmwrite(GUEST_CR3, s->cr3);
	vmwrite(GUEST_IA32_EFER, s->efer);
	v->sregs_dirty = false;
}

/* Everything fixed for the life of the vCPU, written each time its VMCS is loaded on a
 * CPU (a VMCLEAR on another CPU leaves it to be written again). */
static void write_fixed_fields(struct gcvm_vcpu *v)
{
	struct desc_ptr gdt, idt;
	u64 value;
	int i;

	vmwrite(PIN_BASED_VM_EXEC_CONTROL, caps.pin);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, caps.proc);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, caps.proc2);
	vmwrite(VM_EXIT_CONTROLS, caps.exit);
	vmwrite(VM_ENTRY_CONTROLS, caps.entry);
	vmwrite(EXCEPTION_BITMAP, 0);
	vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmwrite(CR3_TARGET_COUNT, 0);
	vmwrite(CR0_GUEST_HOST_MASK, ~0ul);
	vmwrite(CR4_GUEST_HOST_MASK, ~0ul);
	vmwrite(VIRTUAL_PROCESSOR_ID, v->vpid);
	vmwrite(EPT_POINTER, gcvm_ept_pointer(v->vm));
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	vmwrite(GUEST_IA32_DEBUGCTL, 0);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
	vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);

	for (i = 0; i < SWITCHED_MSRS; i++) {
		host_msr_area(v)[i].index = switched_msrs[i];
		rdmsrl(switched_msrs[i], host_msr_area(v)[i].value);
	}
	vmwrite(VM_ENTRY_MSR_LOAD_ADDR, __pa(guest_msr_area(v)));
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, SWITCHED_MSRS);
	vmwrite(VM_EXIT_MSR_LOAD_ADDR, __pa(host_msr_area(v)));
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, SWITCHED_MSRS);
	vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);

	/* The host: this CPU's kernel. */
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CS_SELECTOR, __KERNEL_CS);
	vmwrite(HOST_SS_SELECTOR, __KERNEL_DS);
	vmwrite(HOST_DS_SELECTOR, 0);
	vmwrite(HOST_ES_SELECTOR, 0);
	vmwrite(HOST_FS_SELECTOR, 0);
	vmwrite(HOST_GS_SELECTOR, 0);
	vmwrite(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmwrite(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(smp_processor_id())->tss.x86_tss);
	native_store_gdt(&gdt);
	vmwrite(HOST_GDTR_BASE, gdt.address);
	store_idt(&idt);
	vmwrite(HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_IA32_SYSENTER_CS, value);
	vmwrite(HOST_IA32_SYSENTER_CS, value);
	rdmsrl(MSR_IA32_SYSENTER_ESP, value);
	vmwrite(HOST_IA32_SYSENTER_ESP, value);
	rdmsrl(MSR_IA32_SYSENTER_EIP, value);
	vmwrite(HOST_IA32_SYSENTER_EIP, value);
	rdmsrl(MSR_EFER, value);
	vmwrite(HOST_IA32_EFER, value);
	vmwrite(HOST_RIP, (unsigned long)gcvm_vmx_exit);
}

/* Makes the vCPU's VMCS current on this CPU (preemption off). A VMCS may be active on one
 * CPU only: one last loaded elsewhere is cleared there first, and the caches of guest
 * translations this CPU may hold from an earlier visit are flushed. */
static void load_vmcs(struct gcvm_vcpu *v)
{
	int cpu = smp_processor_id();

	if (v->cpu != cpu) {
		if (v->cpu >= 0)
			smp_call_function_single(v->cpu, vmclear_on_cpu, v, 1);
		else
			vmclear(__pa(v->vmcs));
		v->launched = false;
	}
	vmptrld(__pa(v->vmcs));
	if (v->cpu != cpu) {
		v->cpu = cpu;
		write_fixed_fields(v);
		v->sregs_dirty = true;
		v->flush_ept = true;
		invvpid_context(v->vpid);
	}
}

/* ---- Running the guest ---- */

static void save_xstate(void *area, u64 mask)
{
	asm volatile("xsave64 %0"
		     : "+m"(*(u8(*)[GCVM_XSAVE_MAX])area)
		     : "a"((u32)mask), "d"((u32)(mask >> 32))
		     : "memory");
}

static void restore_xstate(void *area, u64 mask)
{
	asm volatile("xrstor64 %0"
		     :
		     : "m"(*(u8(*)[GCVM_XSAVE_MAX])area), "a"((u32)mask), "d"((u32)(mask >> 32))
		     : "memory");
}

static bool is_host_nmi(const struct gcvm_vcpu *v, int reason)
{
	return reason >= 0 && (u16)reason == EXIT_REASON_EXCEPTION_NMI &&
		(v->exit.intr_info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR;
}

/* Work that must not wait for the guest's next exit: a signal (the engine's kick among
 * them), work the kernel does on the way back to user space, or another task to run. */
static bool host_work_pending(void)
{
	return signal_pending(current) || task_work_pending(current) || need_resched();
}

/* What enter_once returns when it found host work pending with interrupts off and did
 * not enter the guest. */
#define ENTRY_SKIPPED (-2)

/* One entry and exit, with preemption and interrupts off around it. The guest's extended
 * state is its own (v->xsave, in XSAVE format, or FXSAVE's where the kernel did not enable
 * XSAVE): the kernel's FPU section saves the thread's first. Returns the exit reason, -1
 * if the entry failed, or ENTRY_SKIPPED. */
static int enter_once(struct gcvm_vcpu *v)
{
	u64 xcr0 = gcvm_host_xcr0(), fs_base, gs_base;
	struct desc_ptr gdt;
	int failed, reason;

	preempt_disable();
	load_vmcs(v);
	if (v->sregs_dirty)
		write_guest_sregs(v);
	guest_msr_area(v)[0] = (struct msr_entry){.index = MSR_STAR, .value = v->star};
	guest_msr_area(v)[1] = (struct msr_entry){.index = MSR_LSTAR, .value = v->lstar};
	guest_msr_area(v)[2] = (struct msr_entry){.index = MSR_CSTAR, .value = v->cstar};
	guest_msr_area(v)[3] = (struct msr_entry){.index = MSR_SYSCALL_MASK, .value = v->sfmask};
	vmwrite(GUEST_RIP, v->rip);
	vmwrite(GUEST_RSP, v->rsp);
	vmwrite(GUEST_RFLAGS, v->rflags | 2);
	vmwrite(HOST_CR3, __read_cr3());
	vmwrite(HOST_CR4, __read_cr4());
	rdmsrl(MSR_FS_BASE, fs_base);
	rdmsrl(MSR_GS_BASE, gs_base);
	vmwrite(HOST_FS_BASE, fs_base);
	vmwrite(HOST_GS_BASE, gs_base);

	kernel_fpu_begin();
	if (xcr0)
		restore_xstate(v->xsave, xcr0);
	else
		asm volatile("fxrstor64 %0" : : "m"(*(u8(*)[512])v->xsave));
	local_irq_disable();
	/* A kick sets its flag before its interrupt is sent: one that came after the run
	 * loop's check, while interrupts were still on, was taken here and left only the
	 * flag; one that comes after this check stays pending and exits the guest at once. */
	if (host_work_pending()) {
		reason = ENTRY_SKIPPED;
		goto not_entered;
	}
	if (caps.timer_ticks)
		vmwrite(VMX_PREEMPTION_TIMER_VALUE, caps.timer_ticks);
	native_store_gdt(&gdt);
	/* Published before the flag is read; an invalidation sets the flag before it reads
	 * this (flush_all_locked), so either it kicks this CPU out or this entry flushes. */
	WRITE_ONCE(v->in_guest_cpu, smp_processor_id());
	smp_mb();
	if (xchg(&v->flush_ept, false))
		invept_context(gcvm_ept_pointer(v->vm));
	/* The guest uses no RCU-protected data of the host: for RCU, entering it is a
	 * context switch, as a return to user space is (ticks taken at the exit land with
	 * preemption off and report none). */
	rcu_note_context_switch(false);
	failed = gcvm_vmx_enter(v->regs, v->launched);
	WRITE_ONCE(v->in_guest_cpu, -1);
	/* A VM exit leaves the GDT limit at 0xffff and TR's at 0x67 (the IDT's 0xffff is
	 * harmless: no vector is above 255). */
	native_load_gdt(&gdt);
	invalidate_tss_limit();
	if (xcr0)
		save_xstate(v->xsave, xcr0);
	else
		asm volatile("fxsave64 %0" : "=m"(*(u8(*)[512])v->xsave));
	/* Everything about the exit is read here, once: after preemption comes back this VMCS
	 * may no longer be the CPU's current one. */
	if (failed) {
		reason = -1;
		v->exit.error = (u32)vmread(VM_INSTRUCTION_ERROR);
	} else {
		v->launched = true;
		reason = (int)vmread(VM_EXIT_REASON);
		v->exit.qualification = vmread(EXIT_QUALIFICATION);
		v->exit.gpa = vmread(GUEST_PHYSICAL_ADDRESS);
		v->exit.intr_info = (u32)vmread(VM_EXIT_INTR_INFO);
		v->exit.insn_len = (u32)vmread(VM_EXIT_INSTRUCTION_LEN);
		v->rip = vmread(GUEST_RIP);
		v->rsp = vmread(GUEST_RSP);
		v->rflags = vmread(GUEST_RFLAGS);
		v->sregs.cr3 = vmread(GUEST_CR3);
	}
	/* An NMI that made the exit is the host's: its handler runs now, interrupts still
	 * off, as it would have. */
	if (is_host_nmi(v, reason))
		asm volatile("int $2");
not_entered: /* the guest's extended state is still what v->xsave holds */
	local_irq_enable(); /* an interrupt that made the exit is taken here */
	kernel_fpu_end();
	preempt_enable();
	return reason;
}

void gcvm_guest_cpuid(u32 function, u32 index, u32 *a, u32 *b, u32 *c, u32 *d)
{
	cpuid_count(function, index, a, b, c, d);
	if (function == 1)
		*c &= ~(1u << 5); /* no VMX inside */
}

static void emulate_cpuid(struct gcvm_vcpu *v)
{
	u32 a, b, c, d;

	gcvm_guest_cpuid((u32)v->regs[R_RAX], (u32)v->regs[R_RCX], &a, &b, &c, &d);
	v->regs[R_RAX] = a;
	v->regs[R_RBX] = b;
	v->regs[R_RCX] = c;
	v->regs[R_RDX] = d;
}

/* An `out` for the engine: the run page carries it to user space, with the instruction
 * already completed (RIP past it), as the engine expects of either hypervisor. */
static int exit_to_user_io(struct gcvm_vcpu *v)
{
	u64 qual = v->exit.qualification;
	struct kvm_run *run = v->run;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = (qual & 8) ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = (qual & 7) + 1;
	run->io.port = (u16)(qual >> 16);
	run->io.count = 1;
	run->io.data_offset = PAGE_SIZE / 2;
	memcpy((char *)run + PAGE_SIZE / 2, &v->regs[R_RAX], run->io.size);
	if (run->io.direction == KVM_EXIT_IO_OUT && !(qual & 16))
		v->rip += v->exit.insn_len;
	return 0;
}

/* The engine's guest runtime forwards a system call with an `out` to GCVM_PORT_SYSCALL
 * (gcvm/src/guest_abi.h), the number in RAX, the return address in RCX and the flags in
 * R11 as SYSCALL left them. */
static bool is_syscall_exit(const struct gcvm_vcpu *v)
{
	u64 qual = v->exit.qualification;

	return (u16)(qual >> 16) == GCVM_PORT_SYSCALL && !(qual & 8) && !(qual & 16);
}

/* Runs the guest until an exit that user space must serve (0, with run->exit_reason), a
 * signal (-EINTR), or an error. */
int gcvm_vcpu_run(struct gcvm_vcpu *v)
{
	struct kvm_run *run = v->run;
	int reason, rc;

	if (READ_ONCE(run->immediate_exit)) {
		run->exit_reason = KVM_EXIT_INTR;
		return -EINTR;
	}
	for (;;) {
		/* A signal, or work the kernel does on the way back to user space (the
		 * last close of a file the guest closed completes there): return, and the
		 * engine runs the guest again. */
		if (signal_pending(current) || task_work_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			return -EINTR;
		}
		if (need_resched())
			schedule();
		reason = enter_once(v);
		if (reason == ENTRY_SKIPPED)
			continue;
		if (reason < 0) {
			u32 error = v->exit.error;

			pr_warn_ratelimited("gcvm: VM entry failed, VM-instruction error %u\n",
					    error);
			run->exit_reason = KVM_EXIT_FAIL_ENTRY;
			run->fail_entry.hardware_entry_failure_reason = error;
			return 0;
		}
		if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
			pr_warn_ratelimited(
				"gcvm: VM entry failed, exit reason %#x (guest state)\n", reason);
			run->exit_reason = KVM_EXIT_FAIL_ENTRY;
			run->fail_entry.hardware_entry_failure_reason = reason & 0xffff;
			return 0;
		}
		switch (reason & 0xffff) {
		case EXIT_REASON_EXTERNAL_INTERRUPT:
			continue; /* taken by the host when interrupts came back on */
		case EXIT_REASON_PREEMPTION_TIMER:
			/* Two ticks in the guest without a host interrupt's exit; any
			 * interrupt pending meanwhile is taken now. */
			v->timer_exits[!!(v->rflags & X86_EFLAGS_IF)]++;
			continue;
		case EXIT_REASON_EXCEPTION_NMI:
			if (is_host_nmi(v, reason))
				continue; /* handled at the exit */
			break;
		case EXIT_REASON_CPUID:
			emulate_cpuid(v);
			v->rip += v->exit.insn_len;
			continue;
		case EXIT_REASON_EPT_VIOLATION: {
			u64 gpa = v->exit.gpa;
			bool write = v->exit.qualification & 2;

			if (!gcvm_slot_by_gpa(v->vm, gpa)) {
				run->exit_reason = KVM_EXIT_MMIO;
				run->mmio.phys_addr = gpa;
				run->mmio.len = 0;
				run->mmio.is_write = write;
				return 0;
			}
			rc = gcvm_ept_fault(v->vm, gpa, write);
			if (rc)
				return rc;
			continue;
		}
		case EXIT_REASON_IO_INSTRUCTION:
			if (is_syscall_exit(v) &&
			    gcvm_syscall_in_kernel(v) != GCVM_SYSCALL_TO_ENGINE)
				continue; /* a signal that interrupted it exits above */
			return exit_to_user_io(v);
		case EXIT_REASON_TRIPLE_FAULT: run->exit_reason = KVM_EXIT_SHUTDOWN; return 0;
		case EXIT_REASON_HLT: run->exit_reason = KVM_EXIT_HLT; return 0;
		default: break;
		}
		/* MSR accesses, CR0/CR4 writes, VMX instructions, XSETBV...: the engine never
		 * does them; user space gets the reason and reports a crash. */
		run->exit_reason = KVM_EXIT_UNKNOWN;
		run->hw.hardware_exit_reason = reason & 0xffff;
		return 0;
	}
}
