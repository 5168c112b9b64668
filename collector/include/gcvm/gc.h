/* gcvm collector: the API a program that allocates from the heap uses.
 *
 * A heap is generational: new objects are bump-allocated in a nursery, survivors of a
 * minor collection are promoted to a non-moving old generation, and a major collection
 * marks and sweeps the old generation. Old-to-young pointers are found by a write
 * barrier backend chosen per heap (see enum gc_barrier_kind).
 *
 * Any number of threads use a heap at once: each attaches as a mutator
 * (gc_mutator_attach) and passes its struct gc_mutator to the calls that act for a
 * thread: allocation, stores, safepoints, collections. A collection stops every mutator
 * at its next safepoint (an allocation slow path or gc_safepoint()), or finds it in a
 * blocking region (gc_blocking_enter), and releases them all when it is done
 * (docs/collector.md, "Threads"). The embedder side (object kinds, tracing, roots) is in
 * <gcvm/gc-embedder.h>. */
#ifndef GCVM_GC_H
#define GCVM_GC_H

#include <stddef.h>
#include <stdint.h>

#include "gc-export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gc_heap;
struct gc_mutator;

/* How old-to-young pointers are found between collections. */
enum gc_barrier_kind {
    GC_BARRIER_DEFAULT = 0,  /* GCVM_BARRIER from the environment, else auto */
    GC_BARRIER_NONE,         /* no barrier: every collection is a full one */
    GC_BARRIER_CARD,         /* software card marking in gc_write_barrier() */
    GC_BARRIER_MPROTECT,     /* old pages read-only, SIGSEGV records the page */
    GC_BARRIER_UFFD,         /* userfaultfd async write-protect + PAGEMAP_SCAN */
    GC_BARRIER_SOFT_DIRTY,   /* /proc/self/clear_refs + pagemap soft-dirty bit */
    GC_BARRIER_GCVM_DIRTY,   /* mutator in guest ring 0; page-table dirty bits */
    GC_BARRIER_GCVM_PROTECT, /* mutator in guest ring 0; in-guest page protection */
    GC_BARRIER_AUTO,         /* calibrate the available ones, take the cheapest */
    GC_BARRIER_KIND_COUNT
};

/* Name as accepted by GCVM_BARRIER ("none", "card", ...); NULL for an invalid kind. */
GCVM_GC_API const char *gc_barrier_name(enum gc_barrier_kind kind);

/* 1 for the barriers that run the heap's threads in guest mode (gcvm-dirty,
 * gcvm-protect), else 0. */
GCVM_GC_API int gc_barrier_uses_guest_mode(enum gc_barrier_kind kind);

/* Writes every valid name, comma-separated, to buf (truncated to len); returns buf. */
GCVM_GC_API const char *gc_barrier_names(char *buf, size_t len);

/* Parses a barrier name; returns 0 and sets *out, or -1 for an unknown name. */
GCVM_GC_API int gc_barrier_parse(const char *name, enum gc_barrier_kind *out);

/* Whether this machine supports the barrier. Returns 1 if it does; 0 if not, with the
 * reason written to why (if why is not NULL). GC_BARRIER_AUTO and NONE are always
 * available. The gcvm barriers are available where the gcvm engine is (gcvm_init()
 * succeeds), also where its ring 0 is emulated; auto never picks them there.
 *
 * A heap with a gcvm barrier puts the thread that creates it in guest mode (unless it is
 * there already) for the heap's life, and gc_mutator_attach puts each mutator thread
 * there, each on a vCPU of its own: their writes must go through the guest's page
 * tables. The last such heap destroyed, or mutator detached, takes the thread back to
 * host mode if creating or attaching put it in guest mode. A mutator that leaves guest
 * mode meanwhile is noticed at its next safepoint: the next collection scans the whole
 * old generation once, with a warning, and the thread is put back in guest mode. */
GCVM_GC_API int gc_barrier_available(enum gc_barrier_kind kind, char *why, size_t why_len);

/* Called when an allocation cannot be satisfied even after a major collection. The
 * callback may release memory (drop roots) and return nonzero to ask for one more
 * attempt; returning 0 makes the allocation return NULL. The heap stays valid. */
typedef int (*gc_oom_fn)(struct gc_heap *heap, size_t request_bytes, void *arg);

struct gc_config {
    size_t heap_max_bytes;        /* hard limit on the whole heap; 0: the machine's
                                     physical memory (at least 1 GiB) */
    size_t nursery_bytes;         /* a fixed nursery size; 0 (gc_config_init): sized by
                                     the heap, from 2 MiB up to 1/16 of the old
                                     generation (at most 64 MiB) while minor pauses stay
                                     short (docs/collector.md, "Nursery size") */
    size_t major_threshold_bytes; /* first major collection when this much became
                                     old, and the least heap goal after (heap
                                     sizing); 0: 4 x nursery */
    enum gc_barrier_kind barrier;
    int conservative_stack;   /* also scan every mutator's stack and registers */
    unsigned stress_interval; /* collect every Nth allocation; 0: GCVM_GC_STRESS or off */
    int verify;               /* run the heap verifier around collections;
                                 0: GCVM_GC_VERIFY or off */
    gc_oom_fn on_oom;
    void *on_oom_arg;
    unsigned parallelism;      /* collector threads; 0: GCVM_GC_THREADS, else the CPU count.
                                  Minor collections run on this many workers (the thread
                                  that collects and parallelism - 1 threads created with the
                                  heap), stop-the-world major collections mark on them;
                                  1: on the collecting thread alone. A collection with
                                  little work stays on the collecting thread
                                  (GCVM_GC_PARALLEL_MIN_KB). The gcvm barriers use one
                                  thread. At most GC_MAX_PARALLELISM. */
    int concurrent_marking;    /* 1: a major collection marks the old generation on a
                                  background thread while the mutators run, between a short
                                  starting and a short final pause; -1: it stops the world
                                  throughout; 0: GCVM_GC_CONCURRENT (0 or 1), else 1. Only
                                  the host barriers (card, mprotect, uffd, soft-dirty) mark
                                  concurrently; none and the gcvm barriers stop the world. */
    unsigned headroom_percent; /* the most the old generation may grow beyond its live
                                  size before the next major collection, in percent of
                                  it (heap sizing may give less); 1 to 1000; 0:
                                  GCVM_GC_HEADROOM_PERCENT, else 100. More: less
                                  collecting, more memory (docs/collector.md, "Heap
                                  sizing") */
};

#define GC_MAX_PARALLELISM 1024u

/* Fills *cfg with the defaults described above. */
GCVM_GC_API void gc_config_init(struct gc_config *cfg);

/* Creates a heap. No thread is its mutator yet: the creating thread attaches like any
 * other (gc_mutator_attach). Returns NULL and writes a one-line reason to err (if not
 * NULL) when the configuration is invalid, the chosen barrier is not available on this
 * machine, or memory cannot be reserved. */
GCVM_GC_API struct gc_heap *gc_heap_create(const struct gc_config *cfg, char *err, size_t err_len);

/* Releases the heap and everything in it. No other thread may use it any more; mutators
 * still attached are detached (their handles become invalid). */
GCVM_GC_API void gc_heap_destroy(struct gc_heap *heap);

/* Collector threads the heap was configured with (gc_config.parallelism resolved). */
GCVM_GC_API unsigned gc_heap_parallelism(const struct gc_heap *heap);

/* ---- Mutator threads ---------------------------------------------------------------- */

/* The calling thread becomes a mutator of heap, at any time, also while other mutators
 * run and collect (it waits for a running collection to end). A thread attaches once per
 * heap. Returns NULL with a one-line reason in err (if not NULL) when it cannot: out of
 * memory, the stack not found for conservative scanning, or, for a heap with a gcvm
 * barrier, a thread that cannot be put in guest mode (the engine has no vCPU left: 64
 * threads in guest mode at once). */
GCVM_GC_API struct gc_mutator *gc_mutator_attach(struct gc_heap *heap, char *err, size_t err_len);

/* The calling thread stops being a mutator; mut is freed. Its young objects stay in the
 * heap (reachable through others or garbage). Must be called by the thread that
 * attached, outside a blocking region. */
GCVM_GC_API void gc_mutator_detach(struct gc_mutator *mut);

/* The heap a mutator belongs to. */
GCVM_GC_API struct gc_heap *gc_mutator_heap(const struct gc_mutator *mut);

/* Around a call that may block (read(2), a lock, a sleep): between enter and leave the
 * thread counts as stopped, so collections go on without waiting for it. Inside, the
 * thread must not allocate, store into or read heap objects, nor change its roots: a
 * collection may move its young objects and update its roots at any moment. Its stack
 * above the call to gc_blocking_enter and the registers at that call are scanned as
 * they were then (conservative_stack). gc_blocking_leave waits while a collection runs. */
GCVM_GC_API void gc_blocking_enter(struct gc_mutator *mut);
GCVM_GC_API void gc_blocking_leave(struct gc_mutator *mut);

/* 1 when the heap's major collections mark concurrently, else 0 (see
 * gc_config.concurrent_marking); gc_print_stats says why. */
GCVM_GC_API int gc_heap_concurrent_marking(const struct gc_heap *heap);

/* The barrier the heap runs, and (for auto) a line saying why it was chosen. */
GCVM_GC_API enum gc_barrier_kind gc_heap_barrier(const struct gc_heap *heap);
GCVM_GC_API const char *gc_heap_barrier_reason(const struct gc_heap *heap);

enum gc_collection_kind { GC_COLLECT_MINOR = 0, GC_COLLECT_MAJOR = 1 };

/* Runs a collection now, on the calling thread, with every other mutator stopped. A
 * minor one with barrier none is done as a major one. */
GCVM_GC_API void gc_collect(struct gc_mutator *mut, enum gc_collection_kind kind);

#define GC_STATS_WORKERS 8u

struct gc_stats {
    uint64_t minor_collections;
    uint64_t major_collections;
    double pause_p50_ms, pause_p95_ms, pause_p99_ms, pause_max_ms, pause_total_ms;
    uint64_t bytes_allocated; /* everything handed out, headers included */
    uint64_t bytes_promoted;  /* copied from the nursery to the old generation */
    uint64_t heap_bytes;      /* blocks in use now (nursery + old) */
    uint64_t peak_heap_bytes;
    uint64_t barrier_traps;          /* write faults taken (mprotect) */
    uint64_t dirty_units;            /* dirty cards or pages found, summed over minors */
    uint64_t dirty_unit_bytes;       /* 128 for cards, 4096 for pages, 0 for none */
    uint64_t minors_by_cards;        /* minor collections started before the nursery was
                                        full, by the cards written since the last one */
    double barrier_ms;               /* harvest + re-arm + fault handling */
    uint64_t pinned_blocks;          /* nursery blocks kept in place, summed */
    uint64_t remembered_fields;      /* fields the remembered-set scans visited, summed over
                                        minors: what finding old-to-young pointers cost */
    uint64_t remembered_blocks_read; /* old blocks whose dirty units those scans read,
                                        summed: under cards only the blocks written (the
                                        card summary), under a page barrier every one */
    uint64_t prefaulted_bytes;       /* free blocks faulted in ahead, outside pauses */
    uint64_t released_bytes;         /* free blocks returned to the system */
    uint64_t major_threshold_bytes;  /* the old generation's size that makes the next
                                        major collection were no free cell reused
                                        (heap sizing counts bytes that become old) */
    uint64_t old_bytes;              /* the old generation's blocks now */
    /* Parallel minor collections (gc_config.parallelism > 1): how many ran, the objects
     * each worker copied in them (worker 0 is the collecting thread; workers past the
     * last entry count in it), and the objects a worker took from another one's list. */
    uint64_t parallel_minor_collections;
    uint64_t objects_copied_by_worker[GC_STATS_WORKERS];
    /* The remembered-set fields each worker visited in them (a large array's dirty ranges
     * are shared out in chunks of 64 KiB). */
    uint64_t remembered_fields_by_worker[GC_STATS_WORKERS];
    uint64_t work_steals;
    /* The parallel phases (of minor collections and of marking) in which a mutator
     * stopped for the collection worked on its own thread, in the place of a collector
     * thread (docs/collector.md, "Stopped mutators help"). */
    uint64_t phases_helped;
    /* The root tracer calls such a helper made for its own mutator, on its own thread. */
    uint64_t own_roots_traced_by_helpers;
    /* CPU time each worker spent in the parallel part of those collections, in
     * nanoseconds (its thread's CPU clock): the largest is the pause's critical path when
     * every worker has a core of its own. */
    uint64_t cpu_ns_by_worker[GC_STATS_WORKERS];
    /* Parallel marking (docs/collector.md, "Parallel marking"): the major collections
     * whose marking ran on the workers, the old objects each worker marked in them (each
     * marked object counts once, for the worker that claimed it) and each worker's CPU
     * time there, in nanoseconds. */
    uint64_t parallel_marks;
    uint64_t objects_marked_by_worker[GC_STATS_WORKERS];
    uint64_t mark_cpu_ns_by_worker[GC_STATS_WORKERS];
    /* Concurrent marking (gc_config.concurrent_marking). A cycle counts as one major
     * collection; its pauses (start, the minor ones meanwhile, final) are in the pause
     * figures above. */
    uint64_t concurrent_cycles;          /* major collections marked concurrently */
    uint64_t mark_rescanned_units;       /* dirty cards or pages re-scanned for the marker
                                            (by the cycles' pauses), summed over cycles */
    uint64_t final_rescanned_units;      /* the part of them re-scanned in final pauses */
    uint64_t last_cycle_rescanned_units; /* in the last cycle */
    double final_pause_max_ms, final_pause_last_ms; /* the cycles' final pauses */
    double concurrent_mark_ms;                      /* the marker thread's marking time, summed */
    /* Sweeping (docs/collector.md, "Lazy sweeping"): old blocks swept with the world
     * stopped (a stop-the-world major collection sweeps all in its pause) and outside
     * pauses (a concurrent cycle's SMALL blocks, after its final pause), summed; and the
     * blocks still waiting to be swept now. */
    uint64_t swept_blocks_in_pauses;
    uint64_t swept_blocks_outside_pauses;
    uint64_t unswept_blocks;
    /* Weak processing (docs/collector.md, "Weak objects and identity hashes"), summed over
     * collections: the ephemerons the traces set aside, and the liveness tests resolving
     * them and examining the guardians' records and registrations took. Both depend on
     * the weak objects only, never on the size of the heap. */
    uint64_t ephemerons_set_aside;
    uint64_t weak_liveness_tests;
    /* Heap sizing (docs/collector.md, "Heap sizing"): the live size the last major
     * collection estimated, the heap goal it set (that live size plus the headroom), and
     * the bytes minor pauses marked for concurrent cycles that fell behind their
     * schedule (assists), summed. */
    uint64_t live_estimate_bytes;
    uint64_t heap_goal_bytes;
    uint64_t assist_marked_bytes;
    /* The assists (minor pauses that marked for a cycle), and of them the ones whose
     * marking ran on the collector's workers (docs/collector.md, "Parallel marking"). */
    uint64_t assists, assists_on_workers;
    /* Concurrent cycles whose marker fell so far behind that what became old during the
     * cycle passed its limit (the headroom and a quarter more, plus a nursery): from then
     * on every minor pause marks all it can, and at twice the limit the cycle is ended in
     * a pause. On an idle machine with a core to spare for the marker, none. */
    uint64_t cycles_past_limit;
    /* Stopping the world (docs/collector.md, "Threads"): how long collecting threads
     * waited for the other mutators to park before each collection (summed, and the
     * longest), and how long parked mutators took to run again once a collection ended
     * (summed over them). Neither is part of the pause figures, which time the collection
     * itself. */
    double stop_wait_ms, stop_wait_max_ms;
    double resume_wait_ms;
    /* Hot pages (mprotect and uffd; docs/barriers.md, "Hot pages"): the old pages the
     * barrier left writable at the last collection because the program wrote them at
     * every collection before. Each counts as dirty at every minor collection, in place
     * of a fault. */
    uint64_t hot_pages;
    /* The CPU time the thread that populates free blocks ahead (prefaulted_bytes) has
     * spent, in milliseconds: the page faults it takes so that pauses do not. */
    double prefault_cpu_ms;
    /* Of prefaulted_bytes' kind but populated by mutators, at their allocation slow
     * paths, while the thread had not yet populated the blocks the next collection takes
     * (the thread gets no core while the mutators and the marker keep every core busy). */
    uint64_t prefaulted_by_mutators_bytes;
};

/* Fills *out with the heap's statistics so far. Callable from any thread; bytes_allocated
 * counts the calling mutator's current nursery block to its cursor and the other
 * mutators' ones as of their last block change or collection. */
GCVM_GC_API void gc_get_stats(const struct gc_heap *heap, struct gc_stats *out);

/* Forgets the pauses recorded so far: the pause figures of gc_get_stats() (percentiles,
 * max, total) and the stop and resume waits then cover only the collections after this
 * call, so that a benchmark can report its steady state after a warm-up. The other
 * counters are kept. */
GCVM_GC_API void gc_reset_pause_stats(struct gc_heap *heap);

/* Writes a human-readable summary of gc_get_stats() to the stream (a FILE *). */
GCVM_GC_API void gc_print_stats(const struct gc_heap *heap, void *file);

/* ---- Allocation and stores: inline fast paths ------------------------------------ */

#define GC_GRANULE 16u
#define GC_HEADER_BYTES 8u
#define GC_NURSERY_MAX_OBJECT 8192u /* larger objects go straight to the old generation */
#define GC_CARD_SHIFT 7u            /* 128-byte cards (docs/collector.md) */
#define GC_CARD_BLOCK_SHIFT 15u     /* a summary byte per 32 KiB of cards */

/* The part of a mutator the inline paths read; it is the first member of struct
 * gc_mutator. Only the owning thread writes the cursor; the collector writes it while the
 * thread is stopped. */
struct gc_mutator_fast {
    char *alloc_cursor; /* in the thread's own nursery block: no lock, no atomic */
    char *alloc_limit;
    uint8_t *card_table_biased;  /* NULL unless the barrier is card */
    uint8_t *card_blocks_biased; /* the card table's summary: a byte per block */
    int safepoint_requested;     /* set while a collection waits for this thread */
    /* Cards this thread found clear and marked since its last allocation slow path, which
     * adds them to the heap's count (docs/collector.md, "Written cards start a
     * collection"). A nursery block's cards are marked when a thread takes it, so stores
     * into young objects do not count. */
    uint64_t cards_marked;
};

#define GC_HDR_LIVE 1u
#define GC_HDR_POINTERFREE 2u

GCVM_GC_API void *gc_alloc_slow(struct gc_mutator *mut, unsigned kind, size_t bytes,
                                int pointerfree);
GCVM_GC_API void gc_safepoint_slow(struct gc_mutator *mut);

/* Allocates a zeroed object from the thread's current nursery block if it fits there,
 * and returns NULL otherwise. It never collects nor stops, so the caller's unregistered
 * pointers stay valid; the object is young until the next allocation that may collect. */
static inline void *gc_alloc_nocollect(struct gc_mutator *mut, unsigned kind, size_t bytes,
                                       int pointerfree)
{
    struct gc_mutator_fast *fast = (struct gc_mutator_fast *)mut;
    size_t total = (bytes + GC_HEADER_BYTES + GC_GRANULE - 1) & ~(size_t)(GC_GRANULE - 1);
    char *at = fast->alloc_cursor;
    if (__builtin_expect(
            total <= GC_NURSERY_MAX_OBJECT && (size_t)(fast->alloc_limit - at) >= total, 1)) {
        fast->alloc_cursor = at + total;
        *(uint64_t *)at = ((uint64_t)total << 16) | ((uint64_t)(kind & 0xffu) << 8) |
                          (pointerfree ? GC_HDR_POINTERFREE : 0) | GC_HDR_LIVE;
        return at + GC_HEADER_BYTES;
    }
    return NULL;
}

static inline void *gc_alloc_inline(struct gc_mutator *mut, unsigned kind, size_t bytes,
                                    int pointerfree)
{
    void *p = gc_alloc_nocollect(mut, kind, bytes, pointerfree);
    return __builtin_expect(p != NULL, 1) ? p : gc_alloc_slow(mut, kind, bytes, pointerfree);
}

/* Allocates a zeroed object of the given kind (0..255) whose payload of `bytes` bytes
 * may hold pointers to other heap objects. The result is 8-byte aligned. Returns NULL
 * when the heap is out of memory (after the on_oom callback had its say). When the
 * thread's nursery block is full it takes another, which is a safepoint: it may stop
 * for another thread's collection or collect. */
static inline void *gc_alloc(struct gc_mutator *mut, unsigned kind, size_t bytes)
{
    return gc_alloc_inline(mut, kind, bytes, 0);
}

/* Same, for an object that holds no heap pointers: it is never traced. */
static inline void *gc_alloc_pointerfree(struct gc_mutator *mut, unsigned kind, size_t bytes)
{
    return gc_alloc_inline(mut, kind, bytes, 1);
}

/* A safepoint: stops here while another thread collects. A loop that runs long without
 * allocating calls it, or every collection waits for the loop to end. */
static inline void gc_safepoint(struct gc_mutator *mut)
{
    if (__builtin_expect(__atomic_load_n(&((struct gc_mutator_fast *)mut)->safepoint_requested,
                                         __ATOMIC_RELAXED),
                         0))
        gc_safepoint_slow(mut);
}

/* Must be called for every store of a heap pointer into a field of a heap object, with
 * the address of the field, after the store. For page-based barriers it does nothing
 * but test one pointer; define GCVM_GC_PAGE_BARRIER_ONLY before including this header
 * to compile it out entirely (then the heap must not use the card barrier, which
 * gc_heap_create cannot check). Any mutator may store into any object: the card table
 * is one byte per card, shared. */
static inline void gc_write_barrier(struct gc_mutator *mut, void *field)
{
#ifdef GCVM_GC_PAGE_BARRIER_ONLY
    (void)mut;
    (void)field;
#else
    struct gc_mutator_fast *fast = (struct gc_mutator_fast *)mut;
    uint8_t *cards = fast->card_table_biased;
    /* A card is marked only when clear, and then its block's summary byte (if clear too),
     * so that threads writing near each other share the cache lines instead of taking
     * them from each other at every store; relaxed atomics, the plain byte accesses they
     * compile to, without a data race. No collection can come between the two marks, as
     * there is no safepoint here: a thread that finds a card marked may skip both. */
    if (cards) {
        uint8_t *card = &cards[(uintptr_t)field >> GC_CARD_SHIFT];
        if (__builtin_expect(!__atomic_load_n(card, __ATOMIC_RELAXED), 0)) {
            __atomic_store_n(card, (uint8_t)1, __ATOMIC_RELAXED);
            fast->cards_marked++;
            uint8_t *block = &fast->card_blocks_biased[(uintptr_t)field >> GC_CARD_BLOCK_SHIFT];
            if (!__atomic_load_n(block, __ATOMIC_RELAXED))
                __atomic_store_n(block, (uint8_t)1, __ATOMIC_RELAXED);
        }
    }
#endif
}

/* The size in bytes that was asked for an object, rounded up to what it holds. */
GCVM_GC_API size_t gc_object_size(const void *obj);

/* The kind an object was allocated with. */
GCVM_GC_API unsigned gc_object_kind(const void *obj);

#ifdef __cplusplus
}
#endif
#endif
