// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* The EPT: guest-physical to host-physical, built lazily from the process's own mappings
 * and kept in step with them through an MMU notifier (docs/kmod.md).
 *
 * A guest-physical page belongs to one memory slot, which names the host-virtual page
 * behind it. The first guest access to it exits (EPT violation); the module takes a
 * reference on the page the process maps there (get_user_pages, writable if the mapping
 * is) and installs a 4 KiB leaf. When the process's mapping of a range changes (munmap,
 * mprotect, a copy-on-write break, reclaim, migration), the notifier removes the leaves
 * of that range, drops their references and makes the vCPU flush its EPT caches before
 * it runs again. Invariant: a leaf exists only for a page the module holds a reference
 * on, installed after the last invalidation of its range began and ended. */
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/vmx.h>

#include "gcvm_kmod.h"

#define EPT_PRESENT VMX_EPT_RWX_MASK
#define EPT_ADDR_MASK 0x000ffffffffff000ull
#define EPT_LEAF_WB (6ull << VMX_EPT_MT_EPTE_SHIFT)

static u64 *table_of(u64 entry)
{
	return (u64 *)__va(entry & EPT_ADDR_MASK);
}

u64 gcvm_ept_pointer(struct gcvm_vm *vm)
{
	return __pa(vm->ept_root) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
}

int gcvm_ept_init(struct gcvm_vm *vm)
{
	vm->ept_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return vm->ept_root ? 0 : -ENOMEM;
}

static void free_table(u64 *table, int level)
{
	int i;

	for (i = 0; level > 0 && i < 512; i++)
		if (table[i] & EPT_PRESENT)
			free_table(table_of(table[i]), level - 1);
	free_page((unsigned long)table);
}

/* Drops every leaf first (the notifier's release does, or this), then the tables. */
void gcvm_ept_destroy(struct gcvm_vm *vm)
{
	if (!vm->ept_root)
		return;
	gcvm_ept_zap_gpa(vm, 0, 1ull << 48);
	free_table(vm->ept_root, 3);
	vm->ept_root = NULL;
}

struct gcvm_slot *gcvm_slot_by_gpa(struct gcvm_vm *vm, u64 gpa)
{
	u32 i;

	for (i = 0; i < vm->slot_count; i++) {
		struct gcvm_slot *s = &vm->slots[i];

		if (s->size && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

/* The leaf for gpa, or NULL; with spare tables it creates the missing levels. */
static u64 *leaf_of(struct gcvm_vm *vm, u64 gpa, u64 **spare, int *spare_count)
{
	u64 *table = vm->ept_root;
	int level;

	for (level = 3; level > 0; level--) {
		u64 *entry = &table[(gpa >> (12 + 9 * level)) & 511];

		if (!(*entry & EPT_PRESENT)) {
			if (!spare || *spare_count == 0)
				return NULL;
			*entry = __pa(spare[--*spare_count]) | EPT_PRESENT;
		}
		table = table_of(*entry);
	}
	return &table[(gpa >> 12) & 511];
}

/* Removes the leaves of [gpa, gpa + size), with ept_lock held; drops their pages. */
static void zap_locked(struct gcvm_vm *vm, u64 gpa, u64 size)
{
	u64 end = gpa + size, at;

	for (at = gpa & ~0xfffull; at < end;) {
		u64 *table = vm->ept_root;
		int level;

		for (level = 3; level > 0; level--) {
			u64 entry = table[(at >> (12 + 9 * level)) & 511];

			if (!(entry & EPT_PRESENT))
				break;
			table = table_of(entry);
		}
		if (level > 0) { /* nothing mapped in this whole table: skip it */
			u64 span = 1ull << (12 + 9 * level);

			at = (at + span) & ~(span - 1);
			continue;
		}
		if (table[(at >> 12) & 511] & EPT_PRESENT) {
			put_page(pfn_to_page((table[(at >> 12) & 511] & EPT_ADDR_MASK) >>
					     PAGE_SHIFT));
			table[(at >> 12) & 511] = 0;
		}
		at += PAGE_SIZE;
	}
}

/* The CPUs to kick after leaves were removed, found with ept_lock held. */
struct kick_list {
	int cpus[GCVM_MAX_VCPUS];
	int count;
};

/* With ept_lock held, after leaves were removed: every vCPU must flush its EPT caches
 * before it runs again, and one in the guest now is noted in @kick. */
static void flush_all_locked(struct gcvm_vm *vm, struct kick_list *kick)
{
	int i;

	kick->count = 0;
	for (i = 0; i < GCVM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			WRITE_ONCE(vm->vcpus[i]->flush_ept, true);
	smp_mb(); /* the flags set before in_guest_cpu is read (enter_once: the reverse) */
	for (i = 0; i < GCVM_MAX_VCPUS; i++) {
		int cpu = vm->vcpus[i] ? READ_ONCE(vm->vcpus[i]->in_guest_cpu) : -1;

		if (cpu >= 0)
			kick->cpus[kick->count++] = cpu;
	}
}

static void noop(void *unused)
{
	(void)unused;
}

/* A vCPU in the guest on another CPU is made to exit, so it flushes before it runs again
 * and stops using the pages before they are let go. */
static void kick(const struct kick_list *kick)
{
	int i;

	for (i = 0; i < kick->count; i++)
		if (kick->cpus[i] != raw_smp_processor_id())
			smp_call_function_single(kick->cpus[i], noop, NULL, 1);
}

void gcvm_ept_zap_gpa(struct gcvm_vm *vm, u64 gpa, u64 size)
{
	struct kick_list cpus;

	spin_lock(&vm->ept_lock);
	zap_locked(vm, gpa, size);
	flush_all_locked(vm, &cpus);
	spin_unlock(&vm->ept_lock);
	kick(&cpus);
}

/* Maps the page behind gpa. Returns 0 (also when an invalidation raced: the guest
 * faults again), or -EFAULT when the process has no such access to the page. */
int gcvm_ept_fault(struct gcvm_vm *vm, u64 gpa, bool write)
{
	u64 *spare[3], *leaf, hva;
	int spare_count = 0, n;
	unsigned long seq;
	struct vm_area_struct *vma;
	struct gcvm_slot *slot;
	struct page *page;
	bool writable;

	mutex_lock(&vm->lock);
	slot = gcvm_slot_by_gpa(vm, gpa);
	hva = slot ? slot->hva + ((gpa & ~0xfffull) - slot->gpa) : 0;
	mutex_unlock(&vm->lock);
	if (!slot)
		return -EFAULT;

	seq = READ_ONCE(vm->invalidate_seq);
	smp_rmb();
	mmap_read_lock(vm->mm);
	vma = vma_lookup(vm->mm, hva);
	writable = vma && (vma->vm_flags & VM_WRITE);
	n = vma && (writable || !write)
		? get_user_pages(hva, 1, writable ? FOLL_WRITE : 0, &page, NULL)
		: -EFAULT;
	mmap_read_unlock(vm->mm);
	if (n != 1)
		return -EFAULT;

	while (spare_count < 3) {
		spare[spare_count] = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!spare[spare_count])
			break;
		spare_count++;
	}
	spin_lock(&vm->ept_lock);
	if (vm->invalidate_active || READ_ONCE(vm->invalidate_seq) != seq) {
		leaf = NULL; /* the mapping changed meanwhile: let the guest fault again */
	} else {
		leaf = leaf_of(vm, gpa, spare, &spare_count);
		if (leaf && !(*leaf & EPT_PRESENT)) {
			*leaf = ((u64)page_to_pfn(page) << PAGE_SHIFT) | VMX_EPT_READABLE_MASK |
				VMX_EPT_EXECUTABLE_MASK | (writable ? VMX_EPT_WRITABLE_MASK : 0) |
				EPT_LEAF_WB;
			page = NULL; /* the leaf holds the reference now */
		}
	}
	spin_unlock(&vm->ept_lock);
	if (page)
		put_page(page);
	while (spare_count > 0)
		free_page((unsigned long)spare[--spare_count]);
	return 0;
}

/* ---- The MMU notifier ---- */

static struct gcvm_vm *vm_of(struct mmu_notifier *mn)
{
	return container_of(mn, struct gcvm_vm, notifier);
}

/* Removes the leaves of every slot's part of [start, end) of the host's address space.
 * The slots are read under ept_lock: whoever changes them holds it too. */
static void zap_hva(struct gcvm_vm *vm, unsigned long start, unsigned long end)
{
	u32 i;

	for (i = 0; i < vm->slot_count; i++) {
		struct gcvm_slot *s = &vm->slots[i];
		u64 lo = max_t(u64, start, s->hva), hi = min_t(u64, end, s->hva + s->size);

		if (s->size && lo < hi)
			zap_locked(vm, s->gpa + (lo - s->hva), hi - lo);
	}
}

static int invalidate_range_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct gcvm_vm *vm = vm_of(mn);
	struct kick_list cpus;

	spin_lock(&vm->ept_lock);
	vm->invalidate_active++;
	WRITE_ONCE(vm->invalidate_seq, vm->invalidate_seq + 1);
	zap_hva(vm, range->start, range->end);
	flush_all_locked(vm, &cpus);
	spin_unlock(&vm->ept_lock);
	kick(&cpus);
	return 0;
}

static void invalidate_range_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct gcvm_vm *vm = vm_of(mn);

	(void)range;
	spin_lock(&vm->ept_lock);
	vm->invalidate_active--;
	WRITE_ONCE(vm->invalidate_seq, vm->invalidate_seq + 1);
	spin_unlock(&vm->ept_lock);
}

/* The process's address space is going away: nothing of it may stay mapped. */
static void release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct gcvm_vm *vm = vm_of(mn);

	(void)mm;
	gcvm_ept_zap_gpa(vm, 0, 1ull << 48);
}

const struct mmu_notifier_ops gcvm_mmu_notifier_ops = {
	.invalidate_range_start = invalidate_range_start,
	.invalidate_range_end = invalidate_range_end,
	.release = release,
};
