/* The userfaultfd barrier: the heap region is registered for asynchronous
 * write-protection (UFFD_FEATURE_WP_ASYNC, Linux 6.7+). The first write to a protected
 * page is resolved inside the kernel, which only notes the page as written: no signal,
 * no thread. At a collection the PAGEMAP_SCAN ioctl on /proc/self/pagemap lists the
 * written pages of the old blocks, and re-protects them afterwards, one ioctl a run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gc_internal.h"
#include "gcvm/linux-abi.h"

struct uffd_state {
    int uffd, pagemap;
    struct page_region regions[256];
};

static int open_uffd(char *why, size_t why_len)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0)
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, why_len, "userfaultfd() failed: %s%s", strerror(errno),
                 errno == EPERM ? " (set vm.unprivileged_userfaultfd=1 or run with "
                                  "CAP_SYS_PTRACE)"
                                : "");
        return -1;
    }
    struct uffdio_api api = {.api = UFFD_API,
                             .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED};
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        snprintf(why, why_len,
                 "the kernel lacks asynchronous userfaultfd write-protect "
                 "(UFFD_FEATURE_WP_ASYNC, Linux 6.7 or later)");
        close(fd);
        return -1;
    }
    return fd;
}

static int register_wp(int uffd, void *addr, size_t len, char *why, size_t why_len)
{
    struct uffdio_register reg = {.range = {.start = (uintptr_t)addr, .len = len},
                                  .mode = UFFDIO_REGISTER_MODE_WP};
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
        snprintf(why, why_len, "cannot register the heap for userfaultfd write-protect: %s",
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* One PAGEMAP_SCAN over [start, end). With wp, written pages are write-protected again;
 * with a visitor, each written range is passed to it. Returns 0 or -errno. */
static int scan_written(int pagemap, char *start, char *end, bool wp, struct page_region *vec,
                        size_t vec_len, void (*written)(void *ctx, char *lo, char *hi), void *ctx)
{
    char *from = start;
    while (from < end) {
        struct pm_scan_arg arg = {
            .size = sizeof arg,
            .flags = wp ? (PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC) : 0,
            .start = (uintptr_t)from,
            .end = (uintptr_t)end,
            .vec = (uintptr_t)vec,
            .vec_len = vec_len,
            .category_mask = PAGE_IS_WRITTEN,
            .return_mask = PAGE_IS_WRITTEN,
        };
        long n = ioctl(pagemap, PAGEMAP_SCAN, &arg);
        if (n < 0)
            return -errno;
        for (long i = 0; written && i < n; i++)
            written(ctx, (char *)(uintptr_t)vec[i].start, (char *)(uintptr_t)vec[i].end);
        if (arg.walk_end <= (uintptr_t)from)
            return -EIO; /* no progress: never loop forever */
        from = (char *)(uintptr_t)arg.walk_end;
    }
    return 0;
}

static void count_written(void *ctx, char *lo, char *hi)
{
    *(size_t *)ctx += (size_t)(hi - lo) / PAGE_BYTES;
}

/* Checks the whole mechanism once on a scratch page: protect, write, see it written. */
static char availability_reason[256];
static int availability;
static void probe_once(void)
{
    char *why = availability_reason;
    size_t why_len = sizeof availability_reason;
    int uffd = open_uffd(why, why_len);
    if (uffd < 0)
        return;
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    char *page = mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct page_region vec[4];
    size_t written = 0;
    if (pagemap < 0 || page == MAP_FAILED) {
        snprintf(why, why_len, "cannot open /proc/self/pagemap or map a page");
    } else if (register_wp(uffd, page, PAGE_BYTES, why, why_len) == 0) {
        page[0] = 1;
        int rc = scan_written(pagemap, page, page + PAGE_BYTES, true, vec, 4, NULL, NULL);
        if (rc == -ENOTTY || rc == -EINVAL) {
            snprintf(why, why_len,
                     "the kernel lacks the PAGEMAP_SCAN ioctl (Linux 6.7 or "
                     "later)");
        } else if (rc != 0) {
            snprintf(why, why_len, "PAGEMAP_SCAN failed: %s", strerror(-rc));
        } else {
            page[0] = 2;
            scan_written(pagemap, page, page + PAGE_BYTES, true, vec, 4, count_written, &written);
            if (written == 1)
                availability = 1;
            else
                snprintf(why, why_len, "a write to a protected page was not reported");
        }
    }
    if (page != MAP_FAILED)
        munmap(page, PAGE_BYTES);
    if (pagemap >= 0)
        close(pagemap);
    close(uffd);
}

static int uffd_available(char *why, size_t why_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_once);
    if (!availability)
        snprintf(why, why_len, "%s", availability_reason);
    return availability;
}

static int uffd_attach(struct gc_heap *h, char *err, size_t err_len)
{
    struct uffd_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    s->pagemap = -1;
    s->uffd = open_uffd(err, err_len);
    if (s->uffd < 0)
        goto fail;
    s->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (s->pagemap < 0) {
        snprintf(err, err_len, "cannot open /proc/self/pagemap: %s", strerror(errno));
        goto fail;
    }
    if (register_wp(s->uffd, h->base, (size_t)(h->end - h->base), err, err_len) != 0)
        goto fail;
    h->barrier_state = s;
    return 0;
fail:
    if (s->uffd >= 0)
        close(s->uffd);
    if (s->pagemap >= 0)
        close(s->pagemap);
    free(s);
    return -1;
}

static void uffd_detach(struct gc_heap *h)
{
    struct uffd_state *s = h->barrier_state;
    if (!s)
        return;
    close(s->uffd); /* unregisters the region */
    close(s->pagemap);
    free(s);
    h->barrier_state = NULL;
}

static void mark_written_pages(void *ctx, char *lo, char *hi)
{
    struct gc_heap *h = ctx;
    for (char *p = lo; p < hi; p += PAGE_BYTES)
        h->dirty[(size_t)(p - h->base) >> PAGE_SHIFT] = 1;
}

static void harvest_run(struct gc_heap *h, size_t first, size_t count)
{
    struct uffd_state *s = h->barrier_state;
    char *lo = block_start(h, first), *hi = lo + (count << BLOCK_SHIFT);
    int rc = scan_written(s->pagemap, lo, hi, false, s->regions, 256, mark_written_pages, h);
    if (rc != 0) {
        gc_warn("uffd barrier: PAGEMAP_SCAN failed (%s); scanning the whole old generation",
                strerror(-rc));
        h->all_dirty = true;
    }
}

/* Hot pages (hot_pages.c) are writable, so the scan reports them written; they are
 * marked here too, so that the remembered set never depends on that. */
static void uffd_harvest(struct gc_heap *h)
{
    for_each_old_run(h, harvest_run);
    hot_pages_mark_dirty(h);
}

static void protect_range(struct gc_heap *h, char *lo, char *hi)
{
    struct uffd_state *s = h->barrier_state;
    int rc = scan_written(s->pagemap, lo, hi, true, s->regions, 256, NULL, NULL);
    if (rc != 0)
        gc_fatal("uffd barrier: cannot write-protect old blocks again: %s", strerror(-rc));
}

/* The run's written pages but the hot ones, which stay writable. */
static void rearm_run(struct gc_heap *h, size_t first, size_t count)
{
    for_each_cold_range(h, first, count, protect_range);
    protected_run_mark_protected(h, first, count);
}

static void uffd_rearm(struct gc_heap *h)
{
    hot_pages_update(h);
    for_each_old_run(h, rearm_run);
    dirty_clear_in_use(h);
}

static void unprotect_blocks(struct gc_heap *h, size_t first, size_t count)
{
    struct uffd_state *s = h->barrier_state;
    struct uffdio_writeprotect wp = {
        .range = {.start = (uintptr_t)block_start(h, first), .len = count << BLOCK_SHIFT},
        .mode = 0,
    };
    if (ioctl(s->uffd, UFFDIO_WRITEPROTECT, &wp) != 0)
        gc_fatal("uffd barrier: cannot unprotect %zu blocks: %s", count, strerror(errno));
    protected_run_mark_writable(h, first, count);
}

/* Protected and empty: a block make_writable lifts. */
static bool to_unprotect(const struct gc_heap *h, size_t bi)
{
    return h->blocks[bi].write_protected && block_bits_set(h->alloc_bits, bi) == 0;
}

/* Lifts the protection of the empty blocks among those the collector or a mutator is
 * about to fill, one ioctl per run of them, so that filling them takes no fault. A block
 * that holds objects keeps its protection: only the pages that get new objects fault,
 * and on these machines a few faults cost less than the ioctl, whose TLB shootdown
 * interrupts every other CPU the process runs on (docs/barriers.md, "uffd"). Unprotected
 * pages count as written: at the next harvest if they are old by then, unless the re-arm
 * of the same pause protects them first. More pages reported than written is allowed. */
static void uffd_make_writable(struct gc_heap *h, size_t first, size_t count)
{
    size_t end = first + count;
    for (size_t bi = first; bi < end; bi++) {
        if (!to_unprotect(h, bi))
            continue;
        size_t run = bi;
        while (bi + 1 < end && to_unprotect(h, bi + 1))
            bi++;
        unprotect_blocks(h, run, bi + 1 - run);
    }
}

/* Partly free blocks that promotion will fill: one ioctl for the run costs less than a
 * fault for each of their pages with a free cell. */
static void uffd_make_reused_writable(struct gc_heap *h, size_t first, size_t count)
{
    unprotect_blocks(h, first, count);
}

const struct gc_barrier_ops gc_barrier_uffd_ops = {
    .kind = GC_BARRIER_UFFD,
    .dirty_shift = PAGE_SHIFT,
    .available = uffd_available,
    .attach = uffd_attach,
    .detach = uffd_detach,
    .harvest = uffd_harvest,
    .rearm = uffd_rearm,
    .make_writable = uffd_make_writable,
    .make_reused_writable = uffd_make_reused_writable,
    .keeps_hot_pages = true,
    .protects_old_pages = true,
};
