/* Heap growth outside pauses (docs/collector.md, "Growth outside pauses"): a
 * background thread populates the free blocks that the next collection will promote
 * into, so that their first-touch faults are not taken inside the pause; and after a
 * major collection, free blocks beyond the retention limit are returned to the system.
 *
 * Populating faults pages in without changing their contents: a locked OR of zero into
 * each page under the barriers that never write-protect one, madvise(MADV_POPULATE_WRITE)
 * (Linux 5.14) under the others (populate_block). That is what makes it safe to run
 * beside the mutator and the collector: a block the thread populates may meanwhile be
 * taken and written, and populating it changes nothing but where its page-table entries
 * are. Under a page barrier a populated page may be reported written: more is allowed,
 * never fewer (the barrier protocol in gc_internal.h). Pauses hold the thread
 * (prefault_hold). */
#define _GNU_SOURCE /* SCHED_IDLE */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "gc_internal.h"
#include "gcvm/gc-debug.h"
#include "gcvm/gcvm.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct prefault {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    uint64_t generation; /* of the request in `wanted`, raised by each request */
    uint32_t *wanted;    /* block indices to populate; under lock */
    size_t wanted_count, capacity;
    /* Statistics, atomic: blocks populated; the thread's own page faults so far, as of
     * its last populate, and its CPU time, as of the end of its last request (its faults
     * are the process's too, and a pause's count of page faults leaves them out:
     * prefault_thread_faults). */
    uint64_t populated_blocks;
    uint64_t cpu_ns;
    uint64_t faults;
    bool touch;      /* populate by touching (populate_block) */
    bool held;       /* atomic: a pause is on, populate nothing (prefault_hold) */
    bool debug_held; /* atomic: gc_debug_prefault_hold */
    /* The mutators' share (prefault_assist): the first `urgent` entries of `wanted` are
     * the blocks the next collection takes; `assist_next`, atomic, is the next of them a
     * mutator claims. All are set by prefault_request, in a pause or, after a large
     * object took requested blocks, under the heap's lock while other mutators may be
     * reading them: hence atomic. A mutator that reads an entry of the request before
     * populates a block that is no longer wanted, which is harmless (populating changes
     * nothing). */
    size_t urgent;
    size_t assist_next;
    uint64_t assisted_blocks; /* atomic: blocks a mutator populated */
};

static bool block_resident(const struct gc_heap *h, size_t bi)
{
    return __atomic_load_n(&h->resident[bi], __ATOMIC_RELAXED) != 0;
}

static void set_resident(struct gc_heap *h, size_t bi, uint8_t v)
{
    __atomic_store_n(&h->resident[bi], v, __ATOMIC_RELAXED);
}

/* Raises resident_end to past bi; the mutator and the thread both do. */
static void raise_resident_end(struct gc_heap *h, size_t bi)
{
    size_t seen = __atomic_load_n(&h->resident_end, __ATOMIC_RELAXED);
    while (seen <= bi && !__atomic_compare_exchange_n(&h->resident_end, &seen, bi + 1, true,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

void blocks_note_resident(struct gc_heap *h, size_t first, size_t count)
{
    for (size_t i = first; i < first + count; i++)
        set_resident(h, i, 1);
    raise_resident_end(h, first + count - 1);
}

/* Waits while a pause is on. A fault that maps a huge page keeps its core in the kernel
 * for 0.5-4.4 ms here, and a preemption asked for meanwhile waits for it whatever the
 * thread's priority: a pause whose second worker waited for this thread's core was 10-15
 * ms long with 5-7 ms of CPU (array-churn at 1 GiB live: the longest pauses 14-15 ms
 * without the hold, 11.6-11.7 with it). */
static void wait_while_held(struct prefault *p)
{
    while (__atomic_load_n(&p->held, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
        struct timespec nap = {.tv_sec = 0, .tv_nsec = 100000};
        nanosleep(&nap, NULL);
    }
}

void prefault_hold(struct gc_heap *h, bool held)
{
    if (h->prefault)
        __atomic_store_n(&h->prefault->held, held, __ATOMIC_RELEASE);
}

/* Faults in the pages of block bi. With touch, by a locked OR of zero into a word of
 * each page: a write that changes nothing, so it is safe beside a thread that writes the
 * word at the same moment, and its fault holds only the heap mapping's own lock.
 * madvise(MADV_POPULATE_WRITE) holds the process's mmap_lock while it zeroes a 2 MiB
 * huge page (up to 4 ms here), and this thread, the last to get a core, was preempted
 * holding it: a worker's mremap or mmap in a pause then waited for it, and every fault
 * behind that (table at 1 GiB live: 13-15 pauses over 10 ms a run, 26 ms the longest,
 * most of them off the CPU; `perf record -e sched:sched_switch` showed mremap, mmap and
 * brk waiting on the lock). Touching is only for barriers that never write-protect a
 * page: under the others a touch of a protected page would be a barrier fault (or a
 * uffd event) rather than a populate, and madvise is used. The OR is assembly, which
 * ThreadSanitizer does not see: as a C atomic it would be reported as racing with the
 * plain stores of whoever owns the block by then, which it may do. */
#if defined(__x86_64__)
/* A write that changes nothing: an atomic OR of zero into the byte at p, which faults its
 * page in. Atomic, so that a plain store to the byte by another thread at the same moment
 * is not lost; in assembly, hidden from the sanitizers as those stores are races only in
 * name. */
static void touch_byte(void *p)
{
    __asm__ volatile("lock orb $0, %0" : "+m"(*(unsigned char *)p));
}

/* Touches every page of [p, p + len). */
static void touch_range(void *p, size_t len)
{
    char *at = p, *end = at + len;
    while (at < end) {
        touch_byte(at);
        at = (char *)(((uintptr_t)at + PAGE_BYTES) & ~(uintptr_t)(PAGE_BYTES - 1));
    }
}

/* The side tables' entries of block bi: a collection that promotes into the block, or
 * scans it, writes them, and they are calloc'd, so untouched until then. One page of the
 * allocation bits covers 16 blocks; their first touch in pauses had been most of the
 * faults of array-churn's second collection (10.5 ms, 139 faults, `perf record -e
 * page-faults -d`: take_cell_at's bit_set). The bitmaps trade places at each sweep
 * (swap_bitmaps), hence the atomic loads. */
static void touch_side_tables(struct gc_heap *h, size_t bi)
{
    touch_range(&h->blocks[bi], sizeof h->blocks[bi]);
    touch_byte(&h->young_blocks[bi]);
    uint64_t *alloc = __atomic_load_n(&h->alloc_bits, __ATOMIC_RELAXED);
    uint64_t *marks = __atomic_load_n(&h->mark_bits, __ATOMIC_RELAXED);
    touch_range(alloc + bi * BITMAP_WORDS_PER_BLOCK, BITMAP_WORDS_PER_BLOCK * sizeof *alloc);
    touch_range(marks + bi * BITMAP_WORDS_PER_BLOCK, BITMAP_WORDS_PER_BLOCK * sizeof *marks);
    touch_range(h->dirty + ((bi << BLOCK_SHIFT) >> h->dirty_shift), BLOCK_BYTES >> h->dirty_shift);
    if (h->card_blocks)
        touch_byte(&h->card_blocks[bi]);
    if (h->write_streak)
        touch_range(h->write_streak + ((bi << BLOCK_SHIFT) >> PAGE_SHIFT),
                    BLOCK_BYTES >> PAGE_SHIFT);
}
#endif

static bool populate_block(struct gc_heap *h, size_t bi, bool touch, bool by_thread)
{
#if defined(__x86_64__)
    touch_side_tables(h, bi); /* not protected by any barrier: touched whatever the mode */
#endif
    char *start = block_start(h, bi);
#if defined(__x86_64__)
    if (touch) {
        for (size_t off = 0; off < BLOCK_BYTES; off += PAGE_BYTES) {
            if (by_thread)
                wait_while_held(h->prefault);
            touch_byte(start + off);
        }
        return true;
    }
#else
    (void)touch;
#endif
    return madvise(start, BLOCK_BYTES, MADV_POPULATE_WRITE) == 0;
}

static void *prefault_main(void *arg)
{
    /* Created in guest mode (a program that entered before creating the heap), the
     * thread starts there on a vCPU of its own: its touches belong in host mode, at host
     * speed, setting no dirty bit and taking no gcvm protection fault. */
    if (gcvm_in_guest())
        gcvm_exit();
    /* Populating ahead uses a core no one else wants: SCHED_IDLE, where a nice-19 thread
     * still takes a share of a busy core (nice 19 where the policy is refused). A thread
     * that wakes preempts it, but not inside a fault: pauses hold it besides. */
    struct sched_param idle = {.sched_priority = 0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle) != 0)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    struct gc_heap *h = arg;
    struct prefault *p = h->prefault;
    uint32_t *work = malloc(p->capacity * sizeof *work);
    uint64_t done_generation = 0;
    pthread_mutex_lock(&p->lock);
    while (work && !p->stop) {
        if (p->generation == done_generation) {
            pthread_cond_wait(&p->wake, &p->lock);
            continue;
        }
        done_generation = p->generation;
        size_t n = p->wanted_count;
        memcpy(work, p->wanted, n * sizeof *work);
        pthread_mutex_unlock(&p->lock);
        for (size_t k = 0; k < n && !__atomic_load_n(&p->stop, __ATOMIC_RELAXED); k++) {
            if (__atomic_load_n(&p->debug_held, __ATOMIC_RELAXED))
                break; /* a test stands for a thread that gets no core */
            if (block_resident(h, work[k]))
                continue;
            if (populate_block(h, work[k], p->touch, true)) {
                blocks_note_resident(h, work[k], 1);
                /* Its CPU time first: whoever sees the block counted sees its cost. */
                __atomic_store_n(&p->cpu_ns, thread_cpu_ns(), __ATOMIC_RELAXED);
                __atomic_add_fetch(&p->populated_blocks, 1, __ATOMIC_RELEASE);
            }
            /* A failure (a page write-protected by the mprotect barrier, say) leaves the
             * block to be faulted in when it is used, as without this thread. */
            __atomic_store_n(&p->faults, thread_page_faults(), __ATOMIC_RELAXED);
        }
        __atomic_store_n(&p->cpu_ns, thread_cpu_ns(), __ATOMIC_RELAXED);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    free(work);
    return NULL;
}

/* Whether this kernel can populate without writing: a probe on one page of the last
 * block, which the heap reaches last (blocks are taken lowest first). */
static bool populate_works(struct gc_heap *h, char *why, size_t why_len)
{
    char *probe = block_start(h, h->nblocks - 1);
    if (madvise(probe, PAGE_BYTES, MADV_POPULATE_WRITE) == 0) {
        madvise(probe, PAGE_BYTES, MADV_DONTNEED);
        return true;
    }
    snprintf(why, why_len, "madvise(MADV_POPULATE_WRITE) failed: %s (Linux 5.14 or later)",
             strerror(errno));
    return false;
}

/* What a first write to a page costs here, in nanoseconds of CPU: the best of three
 * blocks' worth of pages near the end of the region, given back afterwards. */
static uint64_t first_touch_ns(struct gc_heap *h)
{
    uint64_t best = UINT64_MAX;
    for (size_t k = 2; k <= 4 && k < h->nblocks; k++) {
        volatile char *block = block_start(h, h->nblocks - k);
        struct timespec t0, t1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        for (size_t off = 0; off < BLOCK_BYTES; off += PAGE_BYTES)
            block[off] = 1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        madvise((char *)block, BLOCK_BYTES, MADV_DONTNEED);
        uint64_t ns =
            (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)(t1.tv_nsec - t0.tv_nsec);
        ns /= BLOCK_BYTES / PAGE_BYTES;
        if (ns < best)
            best = ns;
    }
    return best;
}

/* Populating ahead pays where a first touch is dear (about 15 us of CPU per page on
 * the development machines on some days, 1.5 us on others, nearer 1 us on bare metal);
 * where it is cheap the thread only competes with the mutator for a core (measured:
 * churn.scm's median minor pause 1.6 ms without it, 1.9-2.5 ms with it, at 1.5 us per
 * page). So it starts only from this cost up, unless GCVM_GC_PREFAULT says otherwise. */
#define PREFAULT_MIN_TOUCH_NS 5000u

/* How far ahead of the heap's growth the thread populates, in nurseries: the blocks the
 * next few collections will take, not the next one's only. With one nursery's worth the
 * thread was still populating when the next collection came (a 2 MiB huge page costs
 * about 1.5 ms to zero here, and it shares two cores with the mutator and the marker):
 * tree-replace at 1 GiB live took 13,000 blocks in its pauses that it had asked for but
 * not yet populated. The retention policy keeps as many free blocks resident anyway. */
#define PREFAULT_AHEAD_NURSERIES 4u

/* Blocks a collection may take beyond the nursery's worth it promotes: each worker fills
 * a block of its own per size class, and leaves the last one partly empty. */
static size_t promotion_slack_blocks(const struct gc_heap *h)
{
    return 8 * (size_t)(h->parallelism ? h->parallelism : 1);
}

/* The free blocks the next PREFAULT_AHEAD_NURSERIES collections may take. */
static size_t ahead_blocks(const struct gc_heap *h)
{
    return PREFAULT_AHEAD_NURSERIES * h->nursery_target_blocks + promotion_slack_blocks(h);
}

void prefault_start(struct gc_heap *h)
{
    const char *env = getenv("GCVM_GC_PREFAULT");
    bool forced = env && strcmp(env, "1") == 0;
    if (env && *env && !forced && strcmp(env, "0") != 0)
        gc_warn("GCVM_GC_PREFAULT=%s is neither 0 nor 1: ignored, the heap decides", env);
    if (env && strcmp(env, "0") == 0) {
        snprintf(h->prefault_state, sizeof h->prefault_state, "off (GCVM_GC_PREFAULT=0)");
        return;
    }
    if (gc_barrier_uses_guest_mode(h->barrier_kind)) {
        snprintf(h->prefault_state, sizeof h->prefault_state,
                 "off: the guest maps a page at its first touch in guest mode anyway");
        return;
    }
    bool touch = h->barrier_kind == GC_BARRIER_CARD || h->barrier_kind == GC_BARRIER_NONE;
#if !defined(__x86_64__)
    touch = false; /* populate_block touches with x86 assembly */
#endif
    char why[160];
    if (!touch && !populate_works(h, why, sizeof why)) {
        snprintf(h->prefault_state, sizeof h->prefault_state, "off: %s", why);
        return;
    }
    /* Under huge pages a first touch in a pause zeroes 2 MiB at once, whatever a 4 KiB
     * page costs: 0.5 ms here with memory the guest held, 4.4 ms with memory the host had
     * taken back (docs/benchmarks.md), in table at 1 GiB live 30% of the pauses' time.
     * The probe below would measure a page of a huge page mapped by the probe before it. */
    uint64_t touch_ns = h->huge_pages ? 0 : first_touch_ns(h);
    /* Under uffd a first touch costs the pause more than the probe's CPU time says: churn.scm
     * took 92,000 faults in its pauses, 1.3 s of pauses against 1.0 s with the thread, at 1.6
     * us of CPU a touch. uffd protects pages under the mmap lock taken for reading, so the
     * thread's madvise never makes the barrier wait, as it does mprotect's (churn.scm under
     * mprotect with the thread forced on: 26-32 ms pauses against 13-15 without). */
    bool always = h->huge_pages || h->barrier_kind == GC_BARRIER_UFFD;
    if (!always && !forced && touch_ns < PREFAULT_MIN_TOUCH_NS) {
        snprintf(h->prefault_state, sizeof h->prefault_state,
                 "off: a first touch costs %.1f us of CPU per page here, under %.0f us "
                 "(GCVM_GC_PREFAULT=1 forces it)",
                 (double)touch_ns / 1e3, PREFAULT_MIN_TOUCH_NS / 1e3);
        return;
    }
    struct prefault *p = calloc(1, sizeof *p);
    size_t capacity = PREFAULT_AHEAD_NURSERIES * h->nursery_max_blocks + promotion_slack_blocks(h);
    if (p)
        p->wanted = malloc(capacity * sizeof *p->wanted);
    if (!p || !p->wanted) {
        free(p);
        snprintf(h->prefault_state, sizeof h->prefault_state, "off: out of memory");
        return;
    }
    p->capacity = capacity;
    p->touch = touch;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    h->prefault = p;
    if (pthread_create(&p->thread, NULL, prefault_main, h) != 0) {
        h->prefault = NULL;
        free(p->wanted);
        free(p);
        snprintf(h->prefault_state, sizeof h->prefault_state, "off: cannot start its thread");
        return;
    }
    prefault_request(h);
    if (h->huge_pages)
        snprintf(h->prefault_state, sizeof h->prefault_state,
                 "on: the heap has huge pages, and a first touch maps 2 MiB; populating by %s",
                 touch ? "touch" : "madvise");
    else if (always)
        snprintf(h->prefault_state, sizeof h->prefault_state,
                 "on: under uffd always (a first touch costs %.1f us of CPU per page here); "
                 "populating by madvise",
                 (double)touch_ns / 1e3);
    else
        snprintf(h->prefault_state, sizeof h->prefault_state,
                 "on: a first touch costs %.1f us of CPU per page here%s; populating by %s",
                 (double)touch_ns / 1e3, forced ? " (GCVM_GC_PREFAULT=1)" : "",
                 touch ? "touch" : "madvise");
}

void prefault_stop(struct gc_heap *h)
{
    struct prefault *p = h->prefault;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stop, true, __ATOMIC_RELAXED);
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->wanted);
    free(p);
    h->prefault = NULL;
}

uint64_t prefault_populated_bytes(const struct gc_heap *h)
{
    if (!h->prefault)
        return 0;
    return __atomic_load_n(&h->prefault->populated_blocks, __ATOMIC_ACQUIRE) << BLOCK_SHIFT;
}

uint64_t prefault_cpu_ns(const struct gc_heap *h)
{
    return h->prefault ? __atomic_load_n(&h->prefault->cpu_ns, __ATOMIC_RELAXED) : 0;
}

uint64_t prefault_thread_faults(const struct gc_heap *h)
{
    return h->prefault ? __atomic_load_n(&h->prefault->faults, __ATOMIC_RELAXED) : 0;
}

/* A collection promotes into the lowest free blocks (blocks_take_run looks from
 * free_search_from), at most a nursery's worth and the slack: ask for the ones of the
 * next PREFAULT_AHEAD_NURSERIES collections that are not yet resident. The nursery's
 * size now, not at the heap's creation: sized once, at the first 2 MiB nursery, the
 * request left a grown nursery's promotion to fault in never-touched blocks in the pause. */
void prefault_request(struct gc_heap *h)
{
    struct prefault *p = h->prefault;
    if (!p)
        return;
    size_t want = ahead_blocks(h);
    if (want > p->capacity)
        want = p->capacity;
    size_t next = h->nursery_target_blocks + promotion_slack_blocks(h);
    /* A nursery below its size takes the lowest free blocks first, and its mutators
     * touch them as they clear them: the collection promotes into the ones after. */
    size_t nursery_takes = h->nursery_target_blocks > h->nursery_count
                               ? h->nursery_target_blocks - h->nursery_count
                               : 0;
    pthread_mutex_lock(&p->lock);
    size_t n = 0, seen = 0, urgent = 0;
    for (size_t bi = h->free_search_from; bi < h->nblocks && seen < want; bi++) {
        if (h->blocks[bi].kind != BLOCK_FREE)
            continue;
        if (nursery_takes) {
            nursery_takes--;
            continue;
        }
        seen++;
        if (!block_resident(h, bi))
            __atomic_store_n(&p->wanted[n++], (uint32_t)bi, __ATOMIC_RELAXED);
        if (seen == next)
            urgent = n;
    }
    p->wanted_count = n;
    /* After the entries: a mutator that sees this count sees them (prefault_assist). */
    __atomic_store_n(&p->urgent, seen < next ? n : urgent, __ATOMIC_RELEASE);
    __atomic_store_n(&p->assist_next, 0, __ATOMIC_RELAXED);
    if (n) {
        p->generation++;
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
}

/* The request lists its blocks in ascending order, and only prefault_request writes it,
 * under the heap's lock, which the caller holds: the list can be read here without the
 * thread's lock. A large object allocated after the request took its lowest free blocks,
 * the ones the next collection was to promote into: array-churn's 114 MiB array at 1 GiB
 * live left that collection to fault in 2 MiB of blocks nobody had asked for (10.5 ms,
 * 139 faults). */
void prefault_blocks_taken(struct gc_heap *h, size_t first, size_t count)
{
    const struct prefault *p = h->prefault;
    if (!p || p->wanted_count == 0 || count == 0)
        return;
    if (first <= p->wanted[p->wanted_count - 1] && first + count > p->wanted[0])
        prefault_request(h);
}

/* At each allocation slow path (a nursery block taken, or a large object) a mutator
 * populates up to ASSIST_BLOCKS of the blocks the next collection takes. Between two
 * collections the mutators take a nursery's n blocks, and so populate up to 2n: more than
 * the n blocks and the slack a collection promotes into. Blocks the thread reached first
 * cost the mutator a look at their resident byte. */
#define ASSIST_BLOCKS 2u

void prefault_assist(struct gc_heap *h)
{
    struct prefault *p = h->prefault;
    if (!p)
        return;
    size_t urgent = __atomic_load_n(&p->urgent, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&p->assist_next, __ATOMIC_RELAXED) >= urgent)
        return;
    for (unsigned i = 0; i < ASSIST_BLOCKS; i++) {
        size_t k = __atomic_fetch_add(&p->assist_next, 1, __ATOMIC_RELAXED);
        if (k >= urgent)
            return;
        size_t bi = __atomic_load_n(&p->wanted[k], __ATOMIC_RELAXED);
        if (block_resident(h, bi) || !populate_block(h, bi, p->touch, false))
            continue;
        blocks_note_resident(h, bi, 1);
        __atomic_add_fetch(&p->assisted_blocks, 1, __ATOMIC_RELAXED);
    }
}

void gc_debug_prefault_hold(struct gc_heap *h, int hold)
{
    if (h->prefault)
        __atomic_store_n(&h->prefault->debug_held, hold != 0, __ATOMIC_RELAXED);
}

uint64_t prefault_assisted_bytes(const struct gc_heap *h)
{
    if (!h->prefault)
        return 0;
    return __atomic_load_n(&h->prefault->assisted_blocks, __ATOMIC_RELAXED) << BLOCK_SHIFT;
}

/* Retention: free blocks stay resident (the next growth reuses them without faults) up
 * to the blocks the prefault thread keeps ready, or a quarter of the old generation,
 * whichever is more: a smaller limit gave back blocks that the thread then populated
 * again (GCBench on two threads: 150 releases and their faults in a 0.5 s run). Beyond
 * it the highest ones are returned, at most RELEASE_PER_COLLECTION blocks per major
 * collection so that giving memory back never makes a long pause; under huge pages only
 * whole ones, all of whose blocks are free, since releasing part of a huge page splits it
 * and the rest of it is then faulted in again a 4 KiB page at a time. */
#define RELEASE_PER_COLLECTION 64u /* 2 MiB: 0.85 ms of madvise here (16 MiB: 6.8 ms) */

/* Whether blocks [first, first + count) are all free, and how many of them are resident. */
static bool all_free(const struct gc_heap *h, size_t first, size_t count, size_t *resident)
{
    *resident = 0;
    for (size_t bi = first; bi < first + count; bi++) {
        if (h->blocks[bi].kind != BLOCK_FREE)
            return false;
        *resident += block_resident(h, bi);
    }
    return true;
}

void retention_release(struct gc_heap *h)
{
    size_t retain = ahead_blocks(h);
    if (h->old_blocks / 4 > retain)
        retain = h->old_blocks / 4;
    size_t end = __atomic_load_n(&h->resident_end, __ATOMIC_RELAXED);
    size_t resident_free = 0;
    for (size_t bi = 0; bi < end; bi++)
        resident_free += h->blocks[bi].kind == BLOCK_FREE && block_resident(h, bi);
    size_t unit = h->huge_pages ? BLOCKS_PER_HUGE_PAGE : 1;
    size_t released = 0;
    for (size_t first = (end + unit - 1) / unit * unit; first >= unit;) {
        first -= unit;
        if (resident_free <= retain || released >= RELEASE_PER_COLLECTION)
            break;
        size_t count = first + unit <= h->nblocks ? unit : h->nblocks - first;
        size_t resident;
        if (!all_free(h, first, count, &resident) || resident == 0)
            continue;
        if (madvise(block_start(h, first), count * BLOCK_BYTES, MADV_DONTNEED) != 0)
            break;
        for (size_t bi = first; bi < first + count; bi++)
            set_resident(h, bi, 0);
        resident_free -= resident;
        released += resident;
    }
    h->stats.released_bytes += (uint64_t)released << BLOCK_SHIFT;
}
