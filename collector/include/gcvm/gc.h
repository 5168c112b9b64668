/* gcvm collector: the API a program that allocates from the heap uses.
 *
 * A heap is generational: new objects are bump-allocated in a nursery, survivors of a
 * minor collection are promoted to a non-moving old generation, and a major collection
 * marks and sweeps the old generation. Old-to-young pointers are found by a write
 * barrier backend chosen per heap (see enum gc_barrier_kind).
 *
 * A heap belongs to one mutator thread: the thread that allocates from it, stores into
 * its objects and collects it. The embedder side (object kinds, tracing, roots) is in
 * <gcvm/gc-embedder.h>. */
#ifndef GCVM_GC_H
#define GCVM_GC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gc_heap;

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
const char *gc_barrier_name(enum gc_barrier_kind kind);

/* 1 for the barriers that run the heap's thread in guest mode (gcvm-dirty, gcvm-protect),
 * else 0. */
int gc_barrier_uses_guest_mode(enum gc_barrier_kind kind);

/* Writes every valid name, comma-separated, to buf (truncated to len); returns buf. */
const char *gc_barrier_names(char *buf, size_t len);

/* Parses a barrier name; returns 0 and sets *out, or -1 for an unknown name. */
int gc_barrier_parse(const char *name, enum gc_barrier_kind *out);

/* Whether this machine supports the barrier. Returns 1 if it does; 0 if not, with the
 * reason written to why (if why is not NULL). GC_BARRIER_AUTO and NONE are always
 * available. The gcvm barriers are available where the gcvm engine is (gcvm_init()
 * succeeds), also where its ring 0 is emulated; auto never picks them there.
 *
 * A heap with a gcvm barrier puts the thread that creates it in guest mode (unless it is
 * there already) for the heap's life: that thread is the mutator, and its writes must
 * go through the guest's page tables. The last such heap destroyed takes the thread
 * back to host mode if creating the first put it in guest mode. */
int gc_barrier_available(enum gc_barrier_kind kind, char *why, size_t why_len);

/* Called when an allocation cannot be satisfied even after a major collection. The
 * callback may release memory (drop roots) and return nonzero to ask for one more
 * attempt; returning 0 makes the allocation return NULL. The heap stays valid. */
typedef int (*gc_oom_fn)(struct gc_heap *heap, size_t request_bytes, void *arg);

struct gc_config {
    size_t heap_max_bytes;        /* hard limit on the whole heap; 0: the machine's
                                     physical memory (at least 1 GiB) */
    size_t nursery_bytes;         /* 0: 2 MiB */
    size_t major_threshold_bytes; /* first major collection when the old generation
                                     reaches this; 0: 4 x nursery */
    enum gc_barrier_kind barrier;
    int conservative_stack;   /* also scan the creating thread's stack and registers */
    unsigned stress_interval; /* collect every Nth allocation; 0: GCVM_GC_STRESS or off */
    int verify;               /* run the heap verifier around collections;
                                 0: GCVM_GC_VERIFY or off */
    gc_oom_fn on_oom;
    void *on_oom_arg;
};

/* Fills *cfg with the defaults described above. */
void gc_config_init(struct gc_config *cfg);

/* Creates a heap owned by the calling thread. Returns NULL and writes a one-line reason
 * to err (if not NULL) when the configuration is invalid, the chosen barrier is not
 * available on this machine, or memory cannot be reserved. */
struct gc_heap *gc_heap_create(const struct gc_config *cfg, char *err, size_t err_len);

/* Releases the heap and everything in it. */
void gc_heap_destroy(struct gc_heap *heap);

/* The barrier the heap runs, and (for auto) a line saying why it was chosen. */
enum gc_barrier_kind gc_heap_barrier(const struct gc_heap *heap);
const char *gc_heap_barrier_reason(const struct gc_heap *heap);

enum gc_collection_kind { GC_COLLECT_MINOR = 0, GC_COLLECT_MAJOR = 1 };

/* Runs a collection now. A minor one with barrier none is done as a major one. */
void gc_collect(struct gc_heap *heap, enum gc_collection_kind kind);

struct gc_stats {
    uint64_t minor_collections;
    uint64_t major_collections;
    double pause_p50_ms, pause_p95_ms, pause_p99_ms, pause_max_ms, pause_total_ms;
    uint64_t bytes_allocated; /* everything handed out, headers included */
    uint64_t bytes_promoted;  /* copied from the nursery to the old generation */
    uint64_t heap_bytes;      /* blocks in use now (nursery + old) */
    uint64_t peak_heap_bytes;
    uint64_t barrier_traps;     /* write faults taken (mprotect) */
    uint64_t dirty_units;       /* dirty cards or pages found, summed over minors */
    uint64_t dirty_unit_bytes;  /* 512 for cards, 4096 for pages, 0 for none */
    double barrier_ms;          /* harvest + re-arm + fault handling */
    uint64_t pinned_blocks;     /* nursery blocks kept in place, summed */
    uint64_t remembered_fields; /* fields the remembered-set scans visited, summed over
                                   minors: what finding old-to-young pointers cost */
    uint64_t prefaulted_bytes;  /* free blocks faulted in ahead, outside pauses */
    uint64_t released_bytes;    /* free blocks returned to the system */
    uint64_t major_threshold_bytes; /* the old generation's size that makes the next
                                       major collection (heap sizing) */
    uint64_t old_bytes;             /* the old generation's blocks now */
};

/* Fills *out with the heap's statistics so far. */
void gc_get_stats(const struct gc_heap *heap, struct gc_stats *out);

/* Forgets the pauses recorded so far: the pause figures of gc_get_stats() (percentiles,
 * max, total) then cover only the collections after this call, so that a benchmark can
 * report its steady state after a warm-up. The other counters are kept. */
void gc_reset_pause_stats(struct gc_heap *heap);

/* Writes a human-readable summary of gc_get_stats() to the stream (a FILE *). */
void gc_print_stats(const struct gc_heap *heap, void *file);

/* For tests that compare barriers on one mutation trace: reads the barrier's record of
 * the old generation's writes since the last collection, as a minor collection would
 * (without collecting), and writes to pages, in increasing order, the index within the
 * heap's region of each old page found written (for the card barrier: each page holding
 * a dirty card). Returns how many were found, which may exceed max (then only max are
 * written). A later collection sees the same writes. */
size_t gc_debug_written_pages(struct gc_heap *heap, size_t *pages, size_t max);

/* ---- Allocation and stores: inline fast paths ------------------------------------ */

#define GC_GRANULE 16u
#define GC_HEADER_BYTES 8u
#define GC_NURSERY_MAX_OBJECT 8192u /* larger objects go straight to the old generation */
#define GC_CARD_SHIFT 9u            /* 512-byte cards */

/* The part of a heap the inline paths read; it is the first member of struct gc_heap. */
struct gc_heap_fast {
    char *alloc_cursor;
    char *alloc_limit;
    uint8_t *card_table_biased; /* NULL unless the barrier is card */
};

#define GC_HDR_LIVE 1u
#define GC_HDR_POINTERFREE 2u

void *gc_alloc_slow(struct gc_heap *heap, unsigned kind, size_t bytes, int pointerfree);

/* Allocates a zeroed object from the nursery's current block if it fits there, and
 * returns NULL otherwise. It never collects, so the caller's unregistered pointers stay
 * valid; the object is young until the next allocation that may collect. */
static inline void *gc_alloc_nocollect(struct gc_heap *heap, unsigned kind, size_t bytes,
                                       int pointerfree)
{
    struct gc_heap_fast *fast = (struct gc_heap_fast *)heap;
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

static inline void *gc_alloc_inline(struct gc_heap *heap, unsigned kind, size_t bytes,
                                    int pointerfree)
{
    void *p = gc_alloc_nocollect(heap, kind, bytes, pointerfree);
    return __builtin_expect(p != NULL, 1) ? p : gc_alloc_slow(heap, kind, bytes, pointerfree);
}

/* Allocates a zeroed object of the given kind (0..255) whose payload of `bytes` bytes
 * may hold pointers to other heap objects. The result is 8-byte aligned. Returns NULL
 * when the heap is out of memory (after the on_oom callback had its say). */
static inline void *gc_alloc(struct gc_heap *heap, unsigned kind, size_t bytes)
{
    return gc_alloc_inline(heap, kind, bytes, 0);
}

/* Same, for an object that holds no heap pointers: it is never traced. */
static inline void *gc_alloc_pointerfree(struct gc_heap *heap, unsigned kind, size_t bytes)
{
    return gc_alloc_inline(heap, kind, bytes, 1);
}

/* Must be called for every store of a heap pointer into a field of a heap object, with
 * the address of the field, after the store. For page-based barriers it does nothing
 * but test one pointer; define GCVM_GC_PAGE_BARRIER_ONLY before including this header
 * to compile it out entirely (then the heap must not use the card barrier, which
 * gc_heap_create cannot check). */
static inline void gc_write_barrier(struct gc_heap *heap, void *field)
{
#ifdef GCVM_GC_PAGE_BARRIER_ONLY
    (void)heap;
    (void)field;
#else
    uint8_t *cards = ((struct gc_heap_fast *)heap)->card_table_biased;
    if (cards)
        cards[(uintptr_t)field >> GC_CARD_SHIFT] = 1;
#endif
}

/* The size in bytes that was asked for an object, rounded up to what it holds. */
size_t gc_object_size(const void *obj);

/* The kind an object was allocated with. */
unsigned gc_object_kind(const void *obj);

#ifdef __cplusplus
}
#endif
#endif
