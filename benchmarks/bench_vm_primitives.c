/* gcvm-vm-bench: Appel and Li's virtual-memory primitives (ASPLOS 1991), for each page
 * tracking mechanism a collector can use:
 *   gcvm       in guest mode: in-guest #PF handler, gcvm_protect, gcvm_dirty_harvest
 *   mprotect   host mode: mprotect + SIGSEGV handler
 *   uffd       host mode: userfaultfd write-protect, asynchronous mode, PAGEMAP_SCAN
 * Primitives, each reported per page (manual time, ns):
 *   trap                a write to a protected page: fault, handler that lifts the
 *                       protection of that page, resume (uffd: the kernel resolves it)
 *   prot1+trap+unprot   protect one page, write it, the handler unprotects it
 *   protN+trap+unprot   protect a batch of pages in one call, write each
 *   harvest             read and clear the written state of a batch of written pages
 * Each gcvm row carries the counter hardware (1: ring 0 on VT-x/AMD-V, 0: emulated, where
 * the time is an emulator's and only correctness and exit counts mean anything) and
 * exits per page. usage: gcvm-vm-bench [--batch=N] [--iterations=N] [benchmark flags] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gcvm/linux-abi.h"
#include "gbench_shim.h"
#include "guest_bench_options.h"
#include "other_vcpus.h"
#include "gcvm/gcvm.h"

#define PAGE_BYTES 4096
static long batch = 64;
static long vcpus = 1; /* --vcpus */
static char *region;
static volatile long faults;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void touch_all(void)
{
    for (long i = 0; i < batch; i++)
        ((volatile char *)region)[i * PAGE_BYTES] = (char)i;
}

enum primitive { TRAP, PROT1, PROTN, HARVEST };
static const char *const primitive_names[] = {"trap", "prot1+trap+unprot", "protN+trap+unprot",
                                              "harvest"};

/* ---- mprotect + SIGSEGV ---- */

static void on_segv(int sig, siginfo_t *info, void *uc)
{
    (void)sig, (void)uc;
    char *page = (char *)((uintptr_t)info->si_addr & ~(uintptr_t)(PAGE_BYTES - 1));
    faults++;
    mprotect(page, PAGE_BYTES, PROT_READ | PROT_WRITE);
}

static void mprotect_read_only(char *addr, long pages)
{
    mprotect(addr, (size_t)pages * PAGE_BYTES, PROT_READ);
}

/* ---- userfaultfd write-protect, asynchronous ---- */

static int uffd = -1, pagemap = -1;

static int uffd_setup(void)
{
    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
    struct uffdio_api api = {.api = UFFD_API,
                             .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED};
    struct uffdio_register reg = {.range = {(uint64_t)region, (uint64_t)batch * PAGE_BYTES},
                                  .mode = UFFDIO_REGISTER_MODE_WP};
    pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) != 0 || ioctl(uffd, UFFDIO_REGISTER, &reg) != 0 ||
        pagemap < 0)
        return -1;
    return 0;
}

static void uffd_protect(char *addr, long pages)
{
    struct uffdio_writeprotect wp = {.range = {(uint64_t)addr, (uint64_t)pages * PAGE_BYTES},
                                     .mode = UFFDIO_WRITEPROTECT_MODE_WP};
    ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
}

/* PAGEMAP_SCAN: report the written pages and write-protect them again. */
static long uffd_harvest(void)
{
    static struct page_region vec[4096];
    struct pm_scan_arg arg = {.size = sizeof arg,
                              .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                              .start = (uint64_t)region,
                              .end = (uint64_t)region + (uint64_t)batch * PAGE_BYTES,
                              .vec = (uint64_t)vec,
                              .vec_len = 4096,
                              .category_mask = PAGE_IS_WRITTEN,
                              .return_mask = PAGE_IS_WRITTEN};
    int n = ioctl(pagemap, PAGEMAP_SCAN, &arg);
    long pages = 0;
    for (int i = 0; i < n; i++)
        pages += (long)((vec[i].end - vec[i].start) / PAGE_BYTES);
    return pages;
}

/* ---- gcvm, in guest mode ---- */

static int on_guest_fault(void *addr, int is_write, void *arg)
{
    (void)is_write, (void)arg;
    faults++;
    char *page = (char *)((uintptr_t)addr & ~(uintptr_t)(PAGE_BYTES - 1));
    return gcvm_protect(page, PAGE_BYTES, PROT_READ | PROT_WRITE) == 0;
}

static void gcvm_read_only(char *addr, long pages)
{
    gcvm_protect(addr, (size_t)pages * PAGE_BYTES, PROT_READ);
}

static long gcvm_harvest(void)
{
    static uint64_t bits[4096 / 64];
    return gcvm_dirty_harvest(region, (size_t)batch * PAGE_BYTES, bits, GCVM_CLEAR);
}

/* ---- One batch, the same for every mechanism ---- */

struct mechanism_ops {
    void (*protect)(char *addr, long pages); /* write-protect pages */
    long (*harvest)(void); /* pages of the region written since the last call, or NULL */
};

/* Nanoseconds for one batch of primitive p. The pages' writes fault (or are recorded)
 * and the fault handler lifts the protection. */
static uint64_t time_batch(const struct mechanism_ops *m, enum primitive p)
{
    uint64_t t0 = 0;
    switch (p) {
    case TRAP:
        m->protect(region, batch);
        t0 = now_ns();
        touch_all();
        break;
    case PROT1:
        t0 = now_ns();
        for (long i = 0; i < batch; i++) {
            m->protect(region + i * PAGE_BYTES, 1);
            ((volatile char *)region)[i * PAGE_BYTES] = 1;
        }
        break;
    case PROTN:
        t0 = now_ns();
        m->protect(region, batch);
        touch_all();
        break;
    case HARVEST:
        touch_all();
        t0 = now_ns();
        faults += m->harvest() == batch ? 0 : 1000000; /* a wrong count shows */
        break;
    }
    return now_ns() - t0;
}

/* ---- Runs ---- */

enum mechanism { GCVM, MPROTECT, UFFD };
static const char *const mechanism_names[] = {"gcvm", "mprotect", "uffd"};
static const struct mechanism_ops mechanisms[] = {
    [GCVM] = {gcvm_read_only, gcvm_harvest},
    [MPROTECT] = {mprotect_read_only, NULL}, /* no dirty state to read */
    [UFFD] = {uffd_protect, uffd_harvest}};

struct row {
    enum mechanism m;
    enum primitive p;
};

static void run_row(gbench_state *st, void *arg)
{
    const struct row *row = arg;
    region = mmap(NULL, (size_t)batch * PAGE_BYTES, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct gcvm_info before = {0}, after = {0};
    if (region == MAP_FAILED) {
        gbench_fail(st, "out of memory");
        return;
    }
    if (row->m == UFFD && uffd_setup() != 0) {
        gbench_fail(st, "userfaultfd write-protect or PAGEMAP_SCAN is not available here");
        goto out;
    }
    if (row->m == GCVM) {
        if (gcvm_init() != 0) {
            gbench_fail(st, gcvm_last_error());
            goto out;
        }
        gcvm_set_fault_handler(on_guest_fault, NULL);
        gcvm_get_info(&before);
    }
    touch_all();
    faults = 0;
    long iterations = 0;
    if (other_vcpus_start((int)vcpus - 1, row->m == GCVM) != 0) {
        gbench_fail(st, "cannot start the other vCPUs' threads");
        goto out;
    }
    while (gbench_keep_running(st)) {
        if (row->m == GCVM)
            gcvm_enter();
        uint64_t ns = time_batch(&mechanisms[row->m], row->p);
        if (row->m == GCVM)
            gcvm_exit();
        gbench_set_iteration_time(st, (double)ns * 1e-9 / (double)batch);
        iterations++;
    }
    other_vcpus_stop();
    long expected = row->p == HARVEST || row->m == UFFD ? 0 : iterations * batch;
    if (faults != expected) {
        fprintf(stderr, "%s/%s: %ld faults, expected %ld\n", mechanism_names[row->m],
                primitive_names[row->p], faults, expected);
        gbench_fail(st, "wrong number of faults or harvested pages");
    }
    if (row->m == GCVM) {
        gcvm_get_info(&after);
        gbench_counter(st, "hardware", after.hardware);
        gbench_counter(st, "exits_per_page",
                       (double)(after.exits - before.exits) / (double)(iterations * batch));
        gbench_counter(st, "shootdowns_per_page",
                       (double)(after.shootdowns - before.shootdowns) /
                           (double)(iterations * batch));
    }
    gbench_counter(st, "vcpus", (double)vcpus);
out:
    if (uffd >= 0)
        close(uffd), uffd = -1;
    if (pagemap >= 0)
        close(pagemap), pagemap = -1;
    munmap(region, (size_t)batch * PAGE_BYTES);
}

int main(int argc, char **argv)
{
    struct guest_bench_options options = {.batch = batch};
    int bad = guest_bench_options("gcvm-vm-bench", 4096, &argc, argv, &options);
    if (bad)
        return bad;
    batch = options.batch;
    vcpus = options.vcpus;
    struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
    sigaction(SIGSEGV, &sa, NULL);
    static struct row rows[3 * 4];
    static char names[3 * 4][64];
    int n = 0;
    for (int m = 0; m < 3; m++) {
        for (int p = 0; p < 4; p++) {
            if (p == HARVEST && !mechanisms[m].harvest)
                continue;
            rows[n] = (struct row){(enum mechanism)m, (enum primitive)p};
            snprintf(names[n], sizeof names[n], "%s/%s", mechanism_names[m], primitive_names[p]);
            gbench_register_manual(names[n], run_row, &rows[n],
                                   m == GCVM ? options.gcvm_iterations : options.iterations);
            n++;
        }
    }
    return gbench_main(argc, argv);
}
