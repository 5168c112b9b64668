/* The soft-dirty barrier: writing "4" to /proc/self/clear_refs clears the soft-dirty
 * bit of every page of the process and write-protects them in the kernel; a first write
 * sets the bit again (bit 55 of the page's /proc/self/pagemap entry).
 *
 * The clear is process-wide: another user of soft-dirty bits in the same process (a
 * checkpointer, say) would see its bits cleared at every collection. Kernels built
 * without CONFIG_MEM_SOFT_DIRTY accept the clear and never set the bit; that is
 * detected once, by experiment, and the barrier then reports itself unavailable. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gc_internal.h"

#define SOFT_DIRTY_BIT ((uint64_t)1 << 55)

struct soft_dirty_state {
    int clear_refs, pagemap;
    uint64_t entries[512];
};

static int clear_soft_dirty(int clear_refs)
{
    return pwrite(clear_refs, "4", 1, 0) == 1 ? 0 : -errno;
}

static int read_entries(int pagemap, const char *lo, size_t pages, uint64_t *out)
{
    off_t at = (off_t)((uintptr_t)lo / PAGE_BYTES * sizeof(uint64_t));
    ssize_t n = pread(pagemap, out, pages * sizeof(uint64_t), at);
    return n == (ssize_t)(pages * sizeof(uint64_t)) ? 0 : -1;
}

static char availability_reason[256];
static int availability;
static void probe_once(void)
{
    int clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    char *page = mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t entry = 0;
    if (clear_refs < 0 || pagemap < 0 || page == MAP_FAILED) {
        snprintf(availability_reason, sizeof availability_reason,
                 "cannot open /proc/self/clear_refs and /proc/self/pagemap");
    } else {
        page[0] = 1;
        if (clear_soft_dirty(clear_refs) != 0) {
            snprintf(availability_reason, sizeof availability_reason,
                     "writing /proc/self/clear_refs failed");
        } else {
            page[0] = 2;
            if (read_entries(pagemap, page, 1, &entry) == 0 && (entry & SOFT_DIRTY_BIT))
                availability = 1;
            else
                snprintf(availability_reason, sizeof availability_reason,
                         "the kernel never sets the soft-dirty bit (built without "
                         "CONFIG_MEM_SOFT_DIRTY)");
        }
    }
    if (page != MAP_FAILED)
        munmap(page, PAGE_BYTES);
    if (clear_refs >= 0)
        close(clear_refs);
    if (pagemap >= 0)
        close(pagemap);
}

static int soft_dirty_available(char *why, size_t why_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_once);
    if (!availability)
        snprintf(why, why_len, "%s", availability_reason);
    return availability;
}

static int soft_dirty_attach(struct gc_heap *h, char *err, size_t err_len)
{
    struct soft_dirty_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    s->clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    s->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (s->clear_refs < 0 || s->pagemap < 0) {
        snprintf(err, err_len, "cannot open /proc/self/clear_refs or pagemap: %s", strerror(errno));
        if (s->clear_refs >= 0)
            close(s->clear_refs);
        if (s->pagemap >= 0)
            close(s->pagemap);
        free(s);
        return -1;
    }
    h->barrier_state = s;
    return 0;
}

static void soft_dirty_detach(struct gc_heap *h)
{
    struct soft_dirty_state *s = h->barrier_state;
    if (!s)
        return;
    close(s->clear_refs);
    close(s->pagemap);
    free(s);
    h->barrier_state = NULL;
}

static void harvest_run(struct gc_heap *h, size_t first, size_t count)
{
    struct soft_dirty_state *s = h->barrier_state;
    const size_t batch = sizeof s->entries / sizeof s->entries[0];
    size_t pages = count << (BLOCK_SHIFT - PAGE_SHIFT);
    char *lo = block_start(h, first);
    for (size_t done = 0; done < pages; done += batch) {
        size_t n = pages - done < batch ? pages - done : batch;
        if (read_entries(s->pagemap, lo + done * PAGE_BYTES, n, s->entries) != 0) {
            gc_warn("soft-dirty barrier: reading pagemap failed; scanning the whole old "
                    "generation");
            h->all_dirty = true;
            return;
        }
        size_t unit0 = (size_t)(lo - h->base) / PAGE_BYTES + done;
        for (size_t k = 0; k < n; k++)
            if (s->entries[k] & SOFT_DIRTY_BIT)
                h->dirty[unit0 + k] = 1;
    }
}

static void soft_dirty_harvest(struct gc_heap *h)
{
    for_each_old_run(h, harvest_run);
}

static void soft_dirty_rearm(struct gc_heap *h)
{
    struct soft_dirty_state *s = h->barrier_state;
    int rc = clear_soft_dirty(s->clear_refs);
    if (rc != 0)
        gc_fatal("soft-dirty barrier: clearing soft-dirty bits failed: %s", strerror(-rc));
    dirty_clear_in_use(h);
}

const struct gc_barrier_ops gc_barrier_soft_dirty_ops = {
    .kind = GC_BARRIER_SOFT_DIRTY,
    .dirty_shift = PAGE_SHIFT,
    .available = soft_dirty_available,
    .attach = soft_dirty_attach,
    .detach = soft_dirty_detach,
    .harvest = soft_dirty_harvest,
    .rearm = soft_dirty_rearm,
    .protects_old_pages = true,
};
