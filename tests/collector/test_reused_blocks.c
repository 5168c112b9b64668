/* Blocks that a page barrier protected while they were old, then freed by a major
 * collection, are writable again when the collector takes them for new objects
 * (take_block and make_writable in blocks.c; "uffd" in docs/barriers.md). A minor
 * collection that promotes 8 MiB into such blocks must not take a fault for each page it
 * fills: with uffd the faults are the process's minor page faults (without make_writable
 * on reuse, each of the 2,048 pages faults once), with mprotect the barrier's traps.
 *
 * With "partly", the major collection frees every other object only, and a new list
 * fills the free cells of blocks that still hold objects, promoted in two halves: the
 * second half's collection is the one measured. Promotion lifts the protection of such
 * blocks too (docs/barriers.md, "Promotion into partly free blocks"): mprotect one block
 * at a time on one collector thread; with "parallel", on 2 threads, mprotect and uffd
 * before the workers start, as many as the last collection filled (old_prepare_reuse),
 * which the first half sets. uffd on one thread leaves them protected.
 * Usage: test_reused_blocks BARRIER [partly [parallel]] (uffd or mprotect). */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>

#include "test_filled_list.h"

static struct link *list;

static const size_t list_bytes = (size_t)8 << 20;

/* The process's: the collector threads' faults are what is counted (the mutator, this
 * thread, is stopped while they run). */
static long minor_faults(void)
{
    struct rusage u;
    CHECK(getrusage(RUSAGE_SELF, &u) == 0);
    return u.ru_minflt;
}

int main(int argc, char **argv)
{
    bool partly = argc > 2 && strcmp(argv[2], "partly") == 0;
    bool parallel = partly && argc > 3 && strcmp(argv[3], "parallel") == 0;
    /* No page populated by the prefault thread counts as a fault of the collection; the
     * workers take part in every collection, however small. */
    setenv("GCVM_GC_PREFAULT", "0", 1);
    setenv("GCVM_GC_WORKERS_TOGETHER", parallel ? "1" : "0", 1);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.nursery_bytes = (size_t)16 << 20; /* the list fits: one minor collection */
    cfg.parallelism = parallel ? 2 : 1;
    cfg.concurrent_marking = -1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    filled_list_register(h, &list);

    /* Old blocks, protected at the end of each collection, then all freed (partly:
     * every other link). */
    filled_list_grow(m, &list, list_bytes);
    gc_collect(m, GC_COLLECT_MINOR);
    gc_collect(m, GC_COLLECT_MINOR); /* re-armed with the list in them */
    if (partly) {
        for (struct link *l = list; l && l->next; l = l->next) {
            l->next = l->next->next;
            gc_write_barrier(m, (void **)&l->next);
        }
        gc_collect(m, GC_COLLECT_MINOR); /* re-armed after those stores */
    } else {
        list = NULL;
    }
    gc_collect(m, GC_COLLECT_MAJOR);
    struct gc_stats s;
    gc_get_stats(h, &s);
    /* Partly: the blocks stay, each with half its cells free. */
    size_t kept = partly ? list_bytes / 2 : 0;
    uint64_t old_before = s.old_bytes;
    CHECK_MSG(s.old_bytes < (partly ? list_bytes + list_bytes / 4 : list_bytes / 4),
              "the major collection left %llu old bytes", (unsigned long long)s.old_bytes);

    /* A new list as big as what was freed, promoted into the blocks the first one left;
     * partly: its first half in a collection of its own. */
    size_t measured = list_bytes - kept;
    if (partly) {
        filled_list_grow(m, &list, measured / 2);
        gc_collect(m, GC_COLLECT_MINOR);
        measured -= measured / 2;
        gc_get_stats(h, &s);
    }
    filled_list_grow(m, &list, measured);
    uint64_t traps_before = s.barrier_traps;
    long faults_before = minor_faults();
    gc_collect(m, GC_COLLECT_MINOR);
    long faults = minor_faults() - faults_before;
    gc_get_stats(h, &s);
    uint64_t traps = s.barrier_traps - traps_before;
    size_t pages = (partly ? 2 * measured : measured) / 4096; /* the reused blocks' pages */
    printf("promoting %zu KiB into reused blocks of %zu pages: %ld page faults, %llu "
           "barrier traps\n",
           measured >> 10, pages, faults, (unsigned long long)traps);
    CHECK_MSG(s.bytes_promoted >= (2 * list_bytes - kept) * 9 / 10, "promoted only %llu bytes",
              (unsigned long long)s.bytes_promoted);
    CHECK_MSG(!partly || s.old_bytes - old_before < list_bytes / 4,
              "the new list took %llu bytes of new blocks, not the free cells of the old ones",
              (unsigned long long)(s.old_bytes - old_before));
    CHECK_MSG(faults < (long)pages / 8 && traps < pages / 8,
              "%ld faults and %llu traps for %zu pages: the reused blocks were still "
              "protected",
              faults, (unsigned long long)traps, pages);
    gc_heap_destroy(h);
    return 0;
}
