/* The mprotect barrier: old blocks are read-only between collections; the first write
 * to a page faults, the SIGSEGV handler records the page as dirty and makes it
 * writable, and the write is retried.
 *
 * Every page unprotected on its own splits a mapping in the kernel, and a process may
 * hold only vm.max_map_count mappings. When mprotect() refuses with ENOMEM the handler
 * makes the whole heap writable (which merges the mappings back), warns once, and asks
 * the next minor collection to scan every old object: slower, never wrong. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "gc_internal.h"

#define MAX_HEAPS 64

struct tracked_heap {
    struct gc_heap *_Atomic heap;
    char *base, *end;
    _Atomic uint64_t traps, ns;
};

static struct tracked_heap tracked[MAX_HEAPS];
static struct sigaction previous_action;
static int installed_heaps;
/* Heaps are created and destroyed by any thread: the table and the handler's
 * installation change under this lock (the handler itself only reads, atomically). */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool warned_map_count;

static void write_stderr(const char *msg)
{
    (void)!write(2, msg, strlen(msg));
}

/* Hands a fault that is not ours to whatever handled SIGSEGV before us. */
static void chain_to_previous(int sig, siginfo_t *info, void *uctx)
{
    if (previous_action.sa_flags & SA_SIGINFO) {
        previous_action.sa_sigaction(sig, info, uctx);
        return;
    }
    if (previous_action.sa_handler == SIG_DFL || previous_action.sa_handler == SIG_IGN) {
        /* Restore the default action; the faulting instruction runs again and the
         * process dies of the signal as it would have without us. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        return;
    }
    previous_action.sa_handler(sig);
}

static bool is_write_fault(const void *uctx)
{
#if defined(__x86_64__)
    const ucontext_t *uc = uctx;
    return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0; /* page-fault error code W bit */
#else
    (void)uctx;
    return true; /* the region is always readable, so a fault in it is a write */
#endif
}

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    char *addr = info->si_addr;
    for (int i = 0; i < MAX_HEAPS; i++) {
        struct tracked_heap *t = &tracked[i];
        struct gc_heap *h = atomic_load(&t->heap);
        if (!h || addr < t->base || addr >= t->end || info->si_code != SEGV_ACCERR ||
            !is_write_fault(uctx))
            continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        char *page = (char *)((uintptr_t)addr & ~(uintptr_t)(PAGE_BYTES - 1));
        /* Threads faulting on one page at once all store 1: atomic, not a data race. */
        __atomic_store_n(&h->dirty[(size_t)(page - h->base) >> PAGE_SHIFT], 1, __ATOMIC_RELAXED);
        if (mprotect(page, PAGE_BYTES, PROT_READ | PROT_WRITE) != 0) {
            if (mprotect(t->base, (size_t)(t->end - t->base), PROT_READ | PROT_WRITE) != 0) {
                write_stderr("gcvm-gc: fatal: cannot make the heap writable again after a "
                             "write fault\n");
                abort();
            }
            __atomic_store_n(&h->all_dirty, true, __ATOMIC_RELAXED);
            if (!atomic_exchange(&warned_map_count, true))
                write_stderr("gcvm-gc: warning: mprotect barrier reached vm.max_map_count; "
                             "the next minor collection scans the whole old generation "
                             "(raise vm.max_map_count or use another barrier)\n");
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        atomic_fetch_add(&t->traps, 1);
        atomic_fetch_add(&t->ns, (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
                                     (uint64_t)(t1.tv_nsec - t0.tv_nsec));
        return;
    }
    chain_to_previous(sig, info, uctx);
}

static bool handler_is_ours(void)
{
    struct sigaction now;
    sigaction(SIGSEGV, NULL, &now);
    return (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_segv;
}

static int mprotect_available(char *why, size_t why_len)
{
    (void)why;
    (void)why_len;
    return 1; /* POSIX: every Linux has it */
}

static struct tracked_heap *slot_of(const struct gc_heap *h)
{
    for (int i = 0; i < MAX_HEAPS; i++)
        if (atomic_load(&tracked[i].heap) == h)
            return &tracked[i];
    return NULL;
}

static int install(struct gc_heap *h, char *err, size_t err_len)
{
    struct tracked_heap *t = slot_of(NULL);
    if (!t) {
        snprintf(err, err_len, "more than %d heaps use the mprotect barrier at once", MAX_HEAPS);
        return -1;
    }
    if (installed_heaps++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSEGV, &sa, &previous_action) != 0) {
            installed_heaps--;
            snprintf(err, err_len, "cannot install the SIGSEGV handler: %s", strerror(errno));
            return -1;
        }
    }
    t->base = h->base;
    t->end = h->end;
    atomic_store(&t->traps, 0);
    atomic_store(&t->ns, 0);
    atomic_store(&t->heap, h);
    return 0;
}

static int mprotect_attach(struct gc_heap *h, char *err, size_t err_len)
{
    pthread_mutex_lock(&install_lock);
    int rc = install(h, err, err_len);
    pthread_mutex_unlock(&install_lock);
    return rc;
}

static void mprotect_detach(struct gc_heap *h)
{
    pthread_mutex_lock(&install_lock);
    struct tracked_heap *t = slot_of(h);
    if (t) {
        mprotect(h->base, (size_t)(h->end - h->base), PROT_READ | PROT_WRITE);
        atomic_store(&t->heap, NULL);
        if (--installed_heaps == 0 && handler_is_ours())
            sigaction(SIGSEGV, &previous_action, NULL);
    }
    pthread_mutex_unlock(&install_lock);
}

static void mprotect_harvest(struct gc_heap *h)
{
    /* The handler wrote h->dirty as the faults came; hot pages take none. */
    hot_pages_mark_dirty(h);
}

static void protect_range(struct gc_heap *h, char *lo, char *hi)
{
    (void)h;
    if (mprotect(lo, (size_t)(hi - lo), PROT_READ) != 0)
        gc_fatal("mprotect barrier: cannot write-protect %zu old pages: %s "
                 "(raise vm.max_map_count or use another barrier)",
                 (size_t)(hi - lo) / PAGE_BYTES, strerror(errno));
}

/* The run's pages but the hot ones (hot_pages.c), which stay writable. */
static void protect_run(struct gc_heap *h, size_t first, size_t count)
{
    if (protected_run_needs_rearm(h, first, count))
        for_each_cold_range(h, first, count, protect_range);
    protected_run_mark_protected(h, first, count);
}

static void mprotect_rearm(struct gc_heap *h)
{
    if (!handler_is_ours())
        gc_fatal("mprotect barrier: the SIGSEGV handler was replaced after the heap was "
                 "created; install yours before gc_heap_create() (it is chained) or use "
                 "another barrier");
    hot_pages_update(h);
    for_each_old_run(h, protect_run);
    dirty_clear_in_use(h);
}

static void mprotect_make_writable(struct gc_heap *h, size_t first, size_t count)
{
    if (protected_run_mark_writable(h, first, count) &&
        mprotect(block_start(h, first), count << BLOCK_SHIFT, PROT_READ | PROT_WRITE) != 0)
        gc_fatal("mprotect barrier: cannot unprotect %zu blocks: %s", count, strerror(errno));
}

static void mprotect_trap_counts(const struct gc_heap *h, uint64_t *traps, uint64_t *ns)
{
    struct tracked_heap *t = slot_of(h);
    *traps = t ? atomic_load(&t->traps) : 0;
    *ns = t ? atomic_load(&t->ns) : 0;
}

const struct gc_barrier_ops gc_barrier_mprotect_ops = {
    .kind = GC_BARRIER_MPROTECT,
    .dirty_shift = PAGE_SHIFT,
    .available = mprotect_available,
    .attach = mprotect_attach,
    .detach = mprotect_detach,
    .harvest = mprotect_harvest,
    .rearm = mprotect_rearm,
    .make_writable = mprotect_make_writable,
    .trap_counts = mprotect_trap_counts,
    .keeps_hot_pages = true,
    .protects_old_pages = true,
};
