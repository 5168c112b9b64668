/* gcvm-cross-core: what it costs one core to read memory another core wrote last.
 *
 * Usage: gcvm-cross-core [--mib=N] [--rounds=N]
 *
 * Two threads, pinned to CPUs 0 and 1, share a buffer of N MiB (2 by default: a nursery's
 * size) laid out as one cycle of cache lines in random order. Each round, the buffer's
 * links are rewritten first by the measuring thread itself, then by the other thread, and
 * after each the measuring thread walks the whole cycle once: a chain of dependent loads,
 * as a collector's copying or a program's tree walk does. It prints the time per line of
 * both walks (medians over the rounds). The difference is what a collector pays when it
 * copies objects another core allocated, or a program pays when it reads copies another
 * core made (docs/collector.md, "Each thread its own nursery blocks" and "Stopped mutators
 * help"). Exit status 77 where the process cannot run on two CPUs. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct line {
    struct line *next;
    char pad[56]; /* one line per link */
};

static struct line *lines;
static size_t *order; /* the cycle: order[i] links to order[i + 1] */
static size_t count;
static int rounds = 21;
static _Atomic int turn;            /* 2k + 1: the other thread writes round k; 2k + 2: done */
static volatile uintptr_t walk_end; /* where the walks ended: keeps them */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void write_links(void)
{
    for (size_t i = 0; i < count; i++)
        lines[order[i]].next = &lines[order[(i + 1) % count]];
}

static uintptr_t walk(void)
{
    const struct line *p = &lines[order[0]];
    for (size_t i = 0; i < count; i++)
        p = p->next;
    return (uintptr_t)p;
}

static void *other_core(void *arg)
{
    (void)arg;
    pin_to(1); /* main checked that CPU 1 is allowed */
    for (int k = 0; k < rounds; k++) {
        while (atomic_load(&turn) != 2 * k + 1)
            ;
        write_links();
        atomic_store(&turn, 2 * k + 2);
    }
    return NULL;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int number_option(const char *arg, const char *name, long lo, long hi, long *out)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return 0;
    char *end;
    errno = 0;
    long v = strtol(arg + n + 1, &end, 10);
    if (errno || *end || end == arg + n + 1 || v < lo || v > hi) {
        fprintf(stderr, "gcvm-cross-core: %s wants a whole number from %ld to %ld\n", name, lo, hi);
        exit(2);
    }
    *out = v;
    return 1;
}

int main(int argc, char **argv)
{
    long mib = 2, r = rounds;
    for (int i = 1; i < argc; i++) {
        if (!number_option(argv[i], "--mib", 1, 1024, &mib) &&
            !number_option(argv[i], "--rounds", 1, 1001, &r)) {
            fprintf(stderr,
                    "gcvm-cross-core: unknown option '%s'\nusage: %s [--mib=N] [--rounds=N]\n",
                    argv[i], argv[0]);
            return 2;
        }
    }
    rounds = (int)r;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || !CPU_ISSET(0, &allowed) ||
        !CPU_ISSET(1, &allowed) || pin_to(0) != 0) {
        fputs("gcvm-cross-core: skipped: this process may not run on both CPU 0 and CPU 1\n",
              stderr);
        return 77;
    }
    count = ((size_t)mib << 20) / sizeof(struct line);
    lines = aligned_alloc(4096, count * sizeof *lines);
    order = malloc(count * sizeof *order);
    double *own = malloc((size_t)rounds * sizeof *own);
    double *other = malloc((size_t)rounds * sizeof *other);
    if (!lines || !order || !own || !other) {
        fputs("gcvm-cross-core: out of memory (try a smaller --mib)\n", stderr);
        free(lines);
        free(order);
        free(own);
        free(other);
        return 1;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < count; i++)
        order[i] = i;
    for (size_t i = count - 1; i > 0; i--) { /* Fisher-Yates with xorshift */
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        size_t j = (size_t)(seed % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, other_core, NULL) != 0) {
        fputs("gcvm-cross-core: cannot start the second thread\n", stderr);
        free(lines);
        free(order);
        free(own);
        free(other);
        return 1;
    }
    for (int k = 0; k < rounds; k++) {
        write_links();
        double t0 = now_ns();
        walk_end = walk();
        own[k] = (now_ns() - t0) / (double)count;
        atomic_store(&turn, 2 * k + 1);
        while (atomic_load(&turn) != 2 * k + 2)
            ;
        t0 = now_ns();
        walk_end = walk();
        other[k] = (now_ns() - t0) / (double)count;
    }
    pthread_join(thread, NULL);
    qsort(own, (size_t)rounds, sizeof *own, compare_doubles);
    qsort(other, (size_t)rounds, sizeof *other, compare_doubles);
    printf("gcvm-cross-core: %ld MiB, random walk of %zu lines, median of %d rounds\n", mib, count,
           rounds);
    printf("  written last by this core:  %6.1f ns per line\n", own[rounds / 2]);
    printf("  written last by CPU 1:      %6.1f ns per line\n", other[rounds / 2]);
    free(lines);
    free(order);
    free(own);
    free(other);
    return 0;
}
