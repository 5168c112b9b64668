/* Boehm GC's stop-the-world pauses (boehm_pauses.h), timed from its collection events. */
#include "boehm_pauses.h"

#include <gc.h>
#include <stdlib.h>
#include <time.h>

enum { KEPT_PAUSES = 1 << 16 };
static double pauses_ms[KEPT_PAUSES];
static size_t kept, count;
static double stopped_at_ms, total_ms;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void on_collection_event(GC_EventType e)
{
    if (e == GC_EVENT_PRE_STOP_WORLD) {
        stopped_at_ms = now_ms();
    } else if (e == GC_EVENT_POST_START_WORLD) {
        double pause = now_ms() - stopped_at_ms;
        total_ms += pause;
        count++;
        if (kept < KEPT_PAUSES)
            pauses_ms[kept++] = pause;
    }
}

void boehm_pauses_record(void)
{
    GC_set_on_collection_event(on_collection_event);
}

void boehm_pauses_reset(void)
{
    kept = count = 0;
    total_ms = 0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct boehm_pause_figures boehm_pauses_figures(void)
{
    struct boehm_pause_figures f = {.count = count, .total_ms = total_ms};
    if (kept == 0)
        return f;
    qsort(pauses_ms, kept, sizeof *pauses_ms, compare_double);
    f.max_ms = pauses_ms[kept - 1];
    f.p99_ms = pauses_ms[(size_t)(0.99 * (double)(kept - 1) + 0.5)];
    return f;
}
