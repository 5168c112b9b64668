/* The hypervisor's steal time, written once for the collector's trace and the benchmarks:
 * the time the host ran something else on this machine's virtual CPUs, from the steal
 * column of /proc/stat (Documentation/filesystems/proc.rst). A pause that the host took
 * the core from lasts as long as the host keeps it (docs/benchmarks.md, "Host steal"). */
#ifndef GCVM_HOST_STEAL_H
#define GCVM_HOST_STEAL_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* The steal time of all virtual CPUs together since boot, in milliseconds, in whole ticks
 * of the kernel's USER_HZ (10 ms at 100); 0 where /proc/stat cannot be read. */
static inline uint64_t gcvm_host_steal_ms(void)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return 0;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    return n == 8 && hz > 0 ? (uint64_t)v[7] * 1000u / (uint64_t)hz : 0;
}

#endif
