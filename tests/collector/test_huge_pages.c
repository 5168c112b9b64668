/* Transparent huge pages for the heap (huge_pages.c; docs/collector.md, "Huge pages"):
 * under the card barrier the region is madvise'd MADV_HUGEPAGE, so that after 64 MiB of
 * live objects its mapping holds huge pages (AnonHugePages in /proc/self/smaps); with
 * GCVM_GC_HUGE_PAGES=0 ("off") and under a page barrier (uffd or mprotect, which protect
 * single pages) it holds none. Under huge pages the heap's thread populates blocks ahead
 * (prefault.c). Exits 77 where the kernel's transparent huge pages are off.
 * Usage: test_huge_pages BARRIER [off]. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_LINK = 1 };

struct link {
    struct link *next;
    uint64_t payload[14];
};

static void trace_link(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct link *)obj)->next, ctx);
}

static struct link *list;

/* AnonHugePages of the mapping of /proc/self/smaps that contains addr, in KiB; -1 if none
 * does. */
static long huge_kib_at(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    CHECK(f != NULL);
    char line[512];
    bool inside = false;
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
            continue;
        }
        long v;
        if (inside && sscanf(line, "AnonHugePages: %ld kB", &v) == 1) {
            kib = v;
            break;
        }
    }
    fclose(f);
    return kib;
}

static bool kernel_has_huge_pages(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return false;
    char line[128] = "";
    bool ok = fgets(line, sizeof line, f) && !strstr(line, "[never]");
    fclose(f);
    return ok;
}

int main(int argc, char **argv)
{
    bool off = argc > 2 && strcmp(argv[2], "off") == 0;
    if (!kernel_has_huge_pages()) {
        printf("skipped: the kernel's transparent huge pages are off\n");
        return 77;
    }
    if (off)
        setenv("GCVM_GC_HUGE_PAGES", "0", 1);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    bool expect_huge = !off && cfg.barrier == GC_BARRIER_CARD;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    CHECK(gc_register_kind(h, KIND_LINK, trace_link) == 0);
    CHECK(gc_root_add(h, (void **)&list) == 0);
    for (size_t have = 0; have < ((size_t)64 << 20); have += sizeof(struct link) + 8) {
        struct link *l = gc_alloc(m, KIND_LINK, sizeof *l);
        CHECK(l != NULL);
        memset(l->payload, 0x11, sizeof l->payload);
        l->next = list;
        gc_write_barrier(m, (void **)&l->next);
        list = l;
    }
    gc_collect(m, GC_COLLECT_MINOR);
    long kib = huge_kib_at(list);
    printf("%s%s: the heap's mapping holds %ld KiB of huge pages\n", argv[1], off ? " (off)" : "",
           kib);
    CHECK_MSG(kib >= 0, "no mapping of /proc/self/smaps holds the heap");
    if (expect_huge) {
        CHECK_MSG(kib >= 2048, "no huge page in the heap's mapping");
        /* Under huge pages the heap populates blocks ahead outside its pauses, whatever a
         * 4 KiB page costs (a fault in a pause would zero 2 MiB): the thread, which runs
         * only on an idle core, has done some within 10 s of idling. */
        struct gc_stats s;
        for (int waited = 0;; waited++) {
            gc_get_stats(h, &s);
            if (s.prefaulted_bytes > 0 || waited == 200)
                break;
            struct timespec nap = {.tv_sec = 0, .tv_nsec = 50000000};
            nanosleep(&nap, NULL);
        }
        printf("populated ahead: %.1f MiB\n", (double)s.prefaulted_bytes / 1048576.0);
        CHECK_MSG(s.prefaulted_bytes > 0, "no block populated ahead under huge pages");
    } else
        CHECK_MSG(kib == 0, "%ld KiB of huge pages where there should be none", kib);
    size_t n = 0;
    for (struct link *l = list; l; l = l->next)
        n++;
    CHECK(n > 0);
    gc_heap_destroy(h);
    return 0;
}
