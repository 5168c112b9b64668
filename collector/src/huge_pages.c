/* Transparent huge pages for the heap's region (docs/collector.md, "Huge pages").
 *
 * A first touch of a 4 KiB page costs 12 us of CPU on the paravirtualized machines this
 * runs on (the kernel's fault path and the hypervisor's page-table update), so a heap
 * that grows by a few hundred MiB spends seconds in faults. With madvise(MADV_HUGEPAGE)
 * the kernel maps 2 MiB at a fault where it can: one fault for 512 pages. Only for the
 * barriers that never change the protection of single pages (card, none): the page
 * barriers protect and unprotect 4 KiB pages, which would split the huge pages at every
 * collection, and the gcvm barriers map the heap in the guest's own page tables. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "gc_internal.h"

/* Whether the kernel's setting lets an madvise'd region have huge pages; why not in why. */
static bool kernel_allows(char *why, size_t why_len)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) {
        snprintf(why, why_len, "the kernel has no transparent huge pages");
        return false;
    }
    char line[128] = "";
    bool read = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!read || strstr(line, "[never]")) {
        snprintf(why, why_len,
                 "the kernel's transparent huge pages are off "
                 "(/sys/kernel/mm/transparent_hugepage/enabled)");
        return false;
    }
    return true;
}

void huge_pages_advise(struct gc_heap *h, int setting)
{
    char *state = h->huge_pages_state;
    size_t len = sizeof h->huge_pages_state;
    if (setting == 0) {
        snprintf(state, len, "off (GCVM_GC_HUGE_PAGES=0)");
        return;
    }
    if (h->barrier_kind != GC_BARRIER_CARD && h->barrier_kind != GC_BARRIER_NONE) {
        snprintf(state, len, "off: the %s barrier protects single pages",
                 gc_barrier_name(h->barrier_kind));
        return;
    }
    char why[128];
    if (!kernel_allows(why, sizeof why)) {
        snprintf(state, len, "off: %s", why);
        return;
    }
    if (madvise(h->base, (size_t)(h->end - h->base), MADV_HUGEPAGE) != 0) {
        snprintf(state, len, "off: madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
        return;
    }
    h->huge_pages = true;
    snprintf(state, len, "on (2 MiB where the kernel has them)");
}
