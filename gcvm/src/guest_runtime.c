/* Code that runs in guest ring 0. The page-fault path must be mapped before any fault
 * can be taken, so it lives in the sections gcvm_guest_text and gcvm_guest_data, which
 * the engine maps eagerly; it calls nothing outside them. */
#include <errno.h>
#include <sys/mman.h>

#include "engine.h"

#define GUEST_TEXT __attribute__((section("gcvm_guest_text"), noinline))
#define GUEST_DATA __attribute__((section("gcvm_guest_data")))

struct guest_shared gcvm_shared GUEST_DATA;
uint8_t gcvm_guest_state_save GUEST_DATA;

static inline __attribute__((always_inline)) void hypercall(struct hypercall *hc)
{
    __asm__ volatile("outb %%al, %w1" : : "a"(0), "Nd"(GCVM_PORT_HYPERCALL), "D"(hc) : "memory");
}

static inline __attribute__((always_inline)) uint64_t *table_at(uint64_t entry)
{
    return (uint64_t *)(gcvm_shared.pool_hva + ((entry & PTE_ADDR) - gcvm_shared.pool_gpa));
}

/* The page-table entry for va, or NULL if a table on the way is missing. */
static inline __attribute__((always_inline)) uint64_t *pte_of(uint64_t va)
{
    uint64_t *table = table_at(gcvm_shared.pml4_gpa);
    for (int level = 3; level > 0; level--) {
        uint64_t entry = table[(va >> (12 + 9 * level)) & 511];
        if (!(entry & PTE_P))
            return 0;
        table = table_at(entry);
    }
    return &table[(va >> 12) & 511];
}

static inline __attribute__((always_inline)) uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

/* Reports the fault f to the host, which ends the process. map_error: why the host could
 * not map the page (a negative errno), or 0. */
static inline __attribute__((always_inline, noreturn)) void crash(struct fault_frame *f,
                                                                  int64_t map_error)
{
    struct hypercall hc = {.op = GCVM_HC_CRASH, .frame = f, .cr2 = read_cr2(), .result = map_error};
    for (;;)
        hypercall(&hc);
}

GUEST_TEXT __attribute__((noreturn)) void gcvm_guest_crash(struct fault_frame *f)
{
    crash(f, 0);
}

static inline __attribute__((always_inline)) void invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* Whether entry e allows the access now: another vCPU raised it after this one cached
 * the lower access, a fault only its TLB saw (raising needs no shootdown). */
static inline __attribute__((always_inline)) int allows(uint64_t e, int is_write)
{
    return (e & PTE_P) && !(e & PTE_PROTECTED) && (!is_write || (e & PTE_RW));
}

/* Called by the #PF stub on its own stack. Returns to retry the access. */
GUEST_TEXT void gcvm_guest_page_fault(struct fault_frame *f)
{
    uint64_t va = read_cr2();
    int is_write = (f->error & 2) != 0;
    uint64_t *pte = pte_of(va);
    /* One reading of the entry: another vCPU may raise the access between two, and a
     * protected entry read first and an unprotected one read next would be neither a
     * spurious fault nor a protection fault. */
    uint64_t e = pte ? __atomic_load_n(pte, __ATOMIC_RELAXED) : 0;
    if (pte && allows(e, is_write)) {
        invlpg(va);
        return;
    }
    if (e & PTE_PROTECTED) {
        __atomic_fetch_add(&gcvm_shared.protection_faults, 1, __ATOMIC_RELAXED);
        gcvm_fault_fn fn = gcvm_shared.handler;
        if (fn && fn((void *)va, is_write, gcvm_shared.handler_arg))
            return;
        gcvm_guest_crash(f);
    }
    if (!(e & PTE_P)) {
        /* absent from the tables: a first touch in guest mode, or an entry the host forgot
         * (the range was unmapped or changed) after this vCPU's TLB cached it */
        struct hypercall hc = {.op = GCVM_HC_POPULATE,
                               .addr = va & ~(PAGE - 1),
                               .len = PAGE,
                               .write = (uint64_t)is_write,
                               .frame = f};
        hypercall(&hc);
        if (hc.result == 0) {
            invlpg(va); /* a TLB may have cached the absent entry */
            return;
        }
        crash(f, hc.result);
    }
    gcvm_guest_crash(f);
}

/* ---- Guest-mode services of the public API ---- */

static int in_guest(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return (cs & 3) == 0;
}

int gcvm_in_guest(void)
{
    return in_guest();
}

/* This vCPU's own TLB, for [addr, addr + pages pages). */
static void flush_local(uint64_t addr, uint64_t pages)
{
    if (pages > 64) {
        uint64_t cr3;
        __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
        return;
    }
    for (uint64_t i = 0; i < pages; i++)
        invlpg(addr + i * PAGE);
}

/* After an entry lost access or a dirty or accessed bit: no vCPU may still use what its
 * TLB cached. With one vCPU held (this one) its own flush is enough; with more, the host
 * makes every vCPU flush before the hypercall returns (tlb_coherence.c). The load comes
 * after the entries' locked updates, so a vCPU taken later sees them. */
static void flush_tlb(uint64_t addr, uint64_t pages)
{
    if (__atomic_load_n(&gcvm_shared.vcpus_held, __ATOMIC_SEQ_CST) > 1) {
        struct hypercall hc = {.op = GCVM_HC_SHOOTDOWN};
        hypercall(&hc);
        return;
    }
    flush_local(addr, pages);
}

static int harvest(void *addr, size_t len, uint64_t *bitmap, unsigned flags, uint64_t bit)
{
    uint64_t a = (uint64_t)addr;
    if (!in_guest())
        return -EPERM;
    if ((a | len) & (PAGE - 1) || !bitmap)
        return -EINVAL;
    uint64_t pages = len / PAGE;
    int found = 0;
    bool cleared = false;
    for (uint64_t i = 0; i < pages; i++) {
        if (i % 64 == 0)
            bitmap[i / 64] = 0;
        uint64_t *pte = pte_of(a + i * PAGE);
        if (!pte || !(*pte & bit))
            continue;
        bitmap[i / 64] |= 1ull << (i % 64);
        found++;
        if (flags & GCVM_CLEAR) {
            __atomic_fetch_and(pte, ~bit, __ATOMIC_SEQ_CST);
            cleared = true;
        }
    }
    if (cleared)
        flush_tlb(a, pages);
    return found;
}

int gcvm_dirty_harvest(void *addr, size_t len, uint64_t *bitmap, unsigned flags)
{
    return harvest(addr, len, bitmap, flags, PTE_D);
}

int gcvm_accessed_harvest(void *addr, size_t len, uint64_t *bitmap, unsigned flags)
{
    return harvest(addr, len, bitmap, flags, PTE_A);
}

int gcvm_protect(void *addr, size_t len, int prot)
{
    uint64_t a = (uint64_t)addr;
    if (!in_guest())
        return -EPERM;
    if ((a | len) & (PAGE - 1) ||
        (prot != PROT_NONE && prot != PROT_READ && prot != (PROT_READ | PROT_WRITE)))
        return -EINVAL;
    /* Every page needs an entry to carry the protection: the host maps the untouched
     * ones (one exit, only when there are some). */
    uint64_t pages = len / PAGE;
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t *pte = pte_of(a + i * PAGE);
        if (!pte || !(*pte & (PTE_P | PTE_PROTECTED))) {
            struct hypercall hc = {.op = GCVM_HC_POPULATE, .addr = a, .len = len, .write = 0};
            hypercall(&hc);
            if (hc.result != 0)
                return (int)hc.result;
            break;
        }
    }
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t *pte = pte_of(a + i * PAGE);
        /* Another vCPU may set the accessed or dirty bit meanwhile: compare and swap. */
        uint64_t old = __atomic_load_n(pte, __ATOMIC_RELAXED), e;
        do {
            e = old | PTE_P;
            if (prot == (PROT_READ | PROT_WRITE)) {
                e &= ~PTE_PROTECTED;
                if (e & PTE_HOST_WRITABLE)
                    e |= PTE_RW;
            } else {
                e = (e & ~PTE_RW) | PTE_PROTECTED;
                if (prot == PROT_NONE)
                    e &= ~PTE_P;
            }
        } while (
            !__atomic_compare_exchange_n(pte, &old, e, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    }
    if (prot == (PROT_READ | PROT_WRITE)) {
        /* Raising access: only this vCPU flushes; another that cached the lower access
         * takes one spurious fault and flushes that page (gcvm_guest_page_fault). */
        flush_local(a, pages);
        return 0;
    }
    flush_tlb(a, pages);
    return 0;
}

void gcvm_set_fault_handler(gcvm_fault_fn fn, void *arg)
{
    gcvm_shared.handler = fn;
    gcvm_shared.handler_arg = arg;
}

void gcvm_get_fault_handler(gcvm_fault_fn *fn, void **arg)
{
    *fn = gcvm_shared.handler;
    *arg = gcvm_shared.handler_arg;
}
