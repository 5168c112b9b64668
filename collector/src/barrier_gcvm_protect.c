/* The gcvm-protect barrier: Appel and Li's page-protection barrier without a system
 * call. Every mutator runs in guest ring 0 on its own vCPU (guest_mode.c); at the end of
 * each collection the old blocks are write-protected in the guest's own page tables
 * (gcvm_protect); the first store to such a page faults to the engine's #PF handler,
 * still in ring 0, which calls on_guest_fault: it records the page in the heap's dirty
 * map, lifts the protection of that one page and retries the store. No exit to the host,
 * no signal, no kernel mapping split (so no vm.max_map_count limit, unlike mprotect).
 *
 * on_guest_fault runs inside the fault handler, where the interrupted code's vector
 * registers are not saved on an emulated ring 0: this file is compiled with
 * -mgeneral-regs-only and without a red zone or sanitizers (collector/CMakeLists.txt),
 * and the handler calls nothing but gcvm_protect. It times itself with the TSC, because
 * clock_gettime() would leave the guest. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "gcvm/gcvm.h"
#include "guest_mode.h"

#define MAX_HEAPS 64

/* traps and ticks are added to by the faulting threads, whichever they are. */
struct protected_heap {
    struct gc_heap *_Atomic heap;
    char *base, *end;
    uint64_t traps, ticks;
};

struct gcvm_protect_state {
    struct protected_heap *slot;
};

static struct protected_heap heaps[MAX_HEAPS];
static int installed_heaps;
static gcvm_fault_fn previous_handler;
static void *previous_arg;
static uint64_t ticks_per_ms; /* TSC rate, measured at the first attach */

static inline uint64_t read_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static int on_guest_fault(void *addr, int is_write, void *arg)
{
    (void)arg;
    uint64_t t0 = read_tsc();
    char *at = addr;
    for (int i = 0; i < MAX_HEAPS; i++) {
        struct protected_heap *p = &heaps[i];
        struct gc_heap *h = atomic_load_explicit(&p->heap, memory_order_relaxed);
        if (!h || at < p->base || at >= p->end || !is_write)
            continue;
        char *page = (char *)((uintptr_t)at & ~(uintptr_t)(PAGE_BYTES - 1));
        __atomic_store_n(&h->dirty[(size_t)(page - h->base) >> PAGE_SHIFT], 1, __ATOMIC_RELAXED);
        int ok = gcvm_protect(page, PAGE_BYTES, PROT_READ | PROT_WRITE) == 0;
        __atomic_add_fetch(&p->traps, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&p->ticks, read_tsc() - t0, __ATOMIC_RELAXED);
        return ok; /* 0: the engine reports the fault and ends the process */
    }
    return previous_handler ? previous_handler(addr, is_write, previous_arg) : 0;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void measure_tsc(void)
{
    uint64_t t0 = now_ns(), r0 = read_tsc(), t1;
    while ((t1 = now_ns()) - t0 < 2000000) /* 2 ms */
        ;
    uint64_t r1 = read_tsc();
    ticks_per_ms = (r1 - r0) * 1000000u / (t1 - t0);
    if (ticks_per_ms == 0)
        ticks_per_ms = 1;
}

static int gcvm_protect_available(char *why, size_t why_len)
{
    return guest_mode_available(why, why_len);
}

static int gcvm_protect_attach(struct gc_heap *h, char *err, size_t err_len)
{
    struct protected_heap *slot = NULL;
    for (int i = 0; i < MAX_HEAPS && !slot; i++)
        if (!atomic_load(&heaps[i].heap))
            slot = &heaps[i];
    struct gcvm_protect_state *s = slot ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        snprintf(err, err_len,
                 slot ? "out of memory" : "more than 64 heaps use the gcvm-protect barrier");
        return -1;
    }
    if (guest_mode_hold(err, err_len) != 0) {
        free(s);
        return -1;
    }
    if (installed_heaps++ == 0) {
        if (!ticks_per_ms)
            measure_tsc();
        gcvm_get_fault_handler(&previous_handler, &previous_arg);
        gcvm_set_fault_handler(on_guest_fault, NULL);
    }
    slot->base = h->base;
    slot->end = h->end;
    slot->traps = slot->ticks = 0;
    atomic_store(&slot->heap, h);
    s->slot = slot;
    h->barrier_state = s;
    return 0;
}

static void unprotect_run(struct gc_heap *h, size_t first, size_t count)
{
    if (protected_run_mark_writable(h, first, count))
        gcvm_protect(block_start(h, first), count << BLOCK_SHIFT, PROT_READ | PROT_WRITE);
}

static void gcvm_protect_detach(struct gc_heap *h)
{
    struct gcvm_protect_state *s = h->barrier_state;
    if (!s)
        return;
    /* Protection bits left in the guest's tables would outlive the heap's mapping if
     * it is unmapped in host mode, where the engine does not see the munmap. */
    if (gcvm_in_guest()) {
        for_each_old_run(h, unprotect_run);
    } else if (gcvm_enter() == 0) {
        for_each_old_run(h, unprotect_run);
        gcvm_exit();
    }
    atomic_store(&s->slot->heap, NULL);
    if (--installed_heaps == 0) {
        gcvm_fault_fn now;
        void *now_arg;
        gcvm_get_fault_handler(&now, &now_arg);
        if (now == on_guest_fault)
            gcvm_set_fault_handler(previous_handler, previous_arg);
    }
    guest_mode_release();
    free(s);
    h->barrier_state = NULL;
}

static void gcvm_protect_harvest(struct gc_heap *h)
{
    /* The handler wrote h->dirty as the faults came; host-mode writes took none. */
    if (!guest_mode_collecting(h, "gcvm-protect", false))
        h->all_dirty = true;
}

static void protect_run(struct gc_heap *h, size_t first, size_t count)
{
    if (protected_run_needs_rearm(h, first, count)) {
        int rc = gcvm_protect(block_start(h, first), count << BLOCK_SHIFT, PROT_READ);
        if (rc != 0)
            gc_fatal("gcvm-protect barrier: cannot write-protect %zu old blocks: %s", count,
                     strerror(-rc));
    }
    protected_run_mark_protected(h, first, count);
}

static void gcvm_protect_rearm(struct gc_heap *h)
{
    if (!guest_mode_collecting(h, "gcvm-protect", true))
        h->all_dirty = true; /* protect every run again, whatever its flags say */
    gcvm_fault_fn now;
    void *now_arg;
    gcvm_get_fault_handler(&now, &now_arg);
    if (now != on_guest_fault)
        gc_fatal("gcvm-protect barrier: the engine's fault handler was replaced after the "
                 "heap was created; install yours before gc_heap_create() (it is chained) "
                 "or use another barrier");
    for_each_old_run(h, protect_run);
    dirty_clear_in_use(h);
}

static void gcvm_protect_make_writable(struct gc_heap *h, size_t first, size_t count)
{
    if (!protected_run_mark_writable(h, first, count))
        return;
    int rc = gcvm_protect(block_start(h, first), count << BLOCK_SHIFT, PROT_READ | PROT_WRITE);
    if (rc != 0)
        gc_fatal("gcvm-protect barrier: cannot unprotect %zu blocks: %s", count, strerror(-rc));
}

static void gcvm_protect_trap_counts(const struct gc_heap *h, uint64_t *traps, uint64_t *ns)
{
    const struct gcvm_protect_state *s = h->barrier_state;
    *traps = s ? __atomic_load_n(&s->slot->traps, __ATOMIC_RELAXED) : 0;
    uint64_t ticks = s ? __atomic_load_n(&s->slot->ticks, __ATOMIC_RELAXED) : 0;
    *ns = ticks / ticks_per_ms * 1000000u + ticks % ticks_per_ms * 1000000u / ticks_per_ms;
}

const struct gc_barrier_ops gc_barrier_gcvm_protect_ops = {
    .kind = GC_BARRIER_GCVM_PROTECT,
    .dirty_shift = PAGE_SHIFT,
    .available = gcvm_protect_available,
    .attach = gcvm_protect_attach,
    .detach = gcvm_protect_detach,
    .harvest = gcvm_protect_harvest,
    .rearm = gcvm_protect_rearm,
    .make_writable = gcvm_protect_make_writable,
    .trap_counts = gcvm_protect_trap_counts,
    .protects_old_pages = true,
};
