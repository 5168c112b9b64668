/* The nursery's pause rule (heap_sizing_nursery_scale in heap_sizing.c; docs/collector.md,
 * "Nursery size"): after a minor pause over the 4 ms target, the nursery shrinks in
 * proportion, unless the part of the pause that grows with it is small beside the fixed
 * part (the barrier's steps and the remembered-set scan). A pause that is 90% remembered
 * set, as a page barrier's is under a random writer whose dirty pages saturate, must not
 * shrink the nursery: that would only add collections, each scanning the same pages. */
#include <math.h>

#include "gcvm/gc-debug.h"
#include "test_util.h"

static const uint64_t ms = 1000000;

static void expect(uint64_t pause, uint64_t fixed, double want)
{
    double got = gc_debug_nursery_scale(pause, fixed);
    printf("pause %.1f ms, fixed %.1f ms: nursery x %.3f\n", (double)pause / 1e6,
           (double)fixed / 1e6, got);
    CHECK_MSG(fabs(got - want) < 1e-9, "pause %llu ns, fixed %llu ns: x %f, expected x %f",
              (unsigned long long)pause, (unsigned long long)fixed, got, want);
}

int main(void)
{
    expect(8 * ms, 0, 0.5);      /* all of it grows with the nursery: in proportion */
    expect(5 * ms, 1 * ms, 0.8); /* mostly copying: in proportion */
    expect(8 * ms, 6 * ms + 4 * ms / 10, 0.625); /* 1.6 ms grows: to 1 ms, a quarter of 4 */
    expect(5 * ms, 45 * ms / 10, 1.25);          /* 0.5 ms grows: more nursery, at most a quarter */
    expect(5 * ms, 4 * ms, 1.0);                 /* 1 ms grows: a quarter of the target already */
    expect(5 * ms, 5 * ms, 1.25);                /* nothing grows with it */
    expect(5 * ms, 7 * ms, 1.25); /* an estimate over the pause counts as all of it */
    return 0;
}
