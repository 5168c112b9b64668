/* gcvm-syscall-bench: what a system call costs a thread in guest mode, against the same
 * call in host mode. On the kvm backend every call leaves the guest and returns to the
 * engine in user space; the kmod backend makes the calls of docs/kmod.md ("System calls")
 * in the kernel, for one VM exit. Calls, each timed per call over a batch (manual time,
 * ns):
 *   getppid      the cheapest call there is: the cost of the path alone
 *   write-null   write(2) of 64 bytes to /dev/null
 *   pread-4k     pread64(2) of 4 KiB from a file in the page cache
 * Rows are MODE/CALL, MODE host or gcvm. gcvm rows carry the counters hardware (1: ring
 * 0 on VT-x/AMD-V, 0: emulated) and engine_returns_per_call (1 where the engine made the
 * call, 0 where the kernel did).
 * usage: gcvm-syscall-bench [--batch=N] [--iterations=N] [benchmark flags] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gbench_shim.h"
#include "guest_bench_options.h"
#include "other_vcpus.h"
#include "gcvm/gcvm.h"

static long batch = 64;
static long vcpus = 1; /* --vcpus */
static int null_fd = -1, file_fd = -1;
static char buffer[4096];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum call { GETPPID, WRITE_NULL, PREAD_4K, CALLS };
static const char *const call_names[] = {"getppid", "write-null", "pread-4k"};

/* Makes the call; false if it gave a wrong result. */
static bool make_call(enum call c)
{
    switch (c) {
    case GETPPID: return syscall(SYS_getppid) > 0;
    case WRITE_NULL: return write(null_fd, buffer, 64) == 64;
    case PREAD_4K: return pread(file_fd, buffer, sizeof buffer, 0) == (ssize_t)sizeof buffer;
    default: return false;
    }
}

struct row {
    bool guest;
    enum call call;
};

static void run_row(gbench_state *st, void *arg)
{
    const struct row *row = arg;
    struct gcvm_info before = {0}, after = {0};
    if (row->guest) {
        if (gcvm_init() != 0) {
            gbench_fail(st, gcvm_last_error());
            return;
        }
        gcvm_get_info(&before);
    }
    long wrong = 0, iterations = 0;
    if (other_vcpus_start((int)vcpus - 1, row->guest) != 0) {
        gbench_fail(st, "cannot start the other vCPUs' threads");
        return;
    }
    while (gbench_keep_running(st)) {
        if (row->guest)
            gcvm_enter();
        uint64_t t0 = now_ns();
        for (long i = 0; i < batch; i++)
            wrong += !make_call(row->call);
        uint64_t ns = now_ns() - t0;
        if (row->guest)
            gcvm_exit();
        gbench_set_iteration_time(st, (double)ns * 1e-9 / (double)batch);
        iterations++;
    }
    other_vcpus_stop();
    if (wrong) {
        fprintf(stderr, "%s: %ld calls gave a wrong result\n", call_names[row->call], wrong);
        gbench_fail(st, "wrong result from a system call");
    }
    if (row->guest) {
        gcvm_get_info(&after);
        gbench_counter(st, "hardware", after.hardware);
        gbench_counter(st, "engine_returns_per_call",
                       (double)(after.syscall_exits - before.syscall_exits) /
                           (double)(iterations * batch));
    }
    gbench_counter(st, "vcpus", (double)vcpus);
}

/* A file of one page for pread-4k, already in the page cache; unlinked at once. */
static int open_files(void)
{
    char path[] = "/tmp/gcvm-syscall-bench.XXXXXX";
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    file_fd = mkstemp(path);
    if (null_fd < 0 || file_fd < 0)
        return -1;
    unlink(path);
    memset(buffer, 'x', sizeof buffer);
    return pwrite(file_fd, buffer, sizeof buffer, 0) == (ssize_t)sizeof buffer ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct guest_bench_options options = {.batch = batch};
    int bad = guest_bench_options("gcvm-syscall-bench", 1000000, &argc, argv, &options);
    if (bad)
        return bad;
    batch = options.batch;
    vcpus = options.vcpus;
    if (open_files() != 0) {
        perror("gcvm-syscall-bench: /dev/null or a file in /tmp");
        return 1;
    }
    static struct row rows[2 * CALLS];
    static char names[2 * CALLS][64];
    int n = 0;
    for (int guest = 0; guest < 2; guest++)
        for (int c = 0; c < CALLS; c++, n++) {
            rows[n] = (struct row){guest != 0, (enum call)c};
            snprintf(names[n], sizeof names[n], "%s/%s", guest ? "gcvm" : "host", call_names[c]);
            gbench_register_manual(names[n], run_row, &rows[n],
                                   guest ? options.gcvm_iterations : options.iterations);
        }
    return gbench_main(argc, argv);
}
