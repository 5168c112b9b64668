/* Statistics: the pause log and what gc_get_stats and gc_print_stats report. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_internal.h"
void stats_record_pause(struct gc_heap *h, double ms)
{
    struct pause_log *p = &h->pauses;
    if (p->count == p->capacity) {
        size_t cap = p->capacity ? p->capacity * 2 : 256;
        double *ms_new = realloc(p->ms, cap * sizeof *ms_new);
        if (!ms_new)
            return; /* statistics only: lose the sample, keep the heap */
        p->ms = ms_new;
        p->capacity = cap;
    }
    p->ms[p->count++] = ms;
    h->stats.pause_total_ms += ms;
    if (ms > h->stats.pause_max_ms)
        h->stats.pause_max_ms = ms;
}

/* ---- Statistics ---- */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

void gc_get_stats(const struct gc_heap *ch, struct gc_stats *out)
{
    struct gc_heap *h = (struct gc_heap *)(uintptr_t)ch; /* for the lock */
    pthread_mutex_lock(&h->lock);
    *out = h->stats;
    out->heap_bytes = (h->nblocks - h->free_blocks) << BLOCK_SHIFT;
    if (out->heap_bytes > out->peak_heap_bytes)
        out->peak_heap_bytes = out->heap_bytes;
    out->bytes_allocated += nursery_bytes_in_use(h);
    /* The calling mutator's block to its cursor; the others' cursors are theirs. */
    for (const struct gc_mutator *m = h->mutators; m; m = m->next)
        if (m->block >= 0 && pthread_equal(m->thread, pthread_self()) &&
            m->state == MUTATOR_RUNNING)
            out->bytes_allocated += (size_t)(m->fast.alloc_cursor - h->blocks[m->block].fill);
    out->barrier_ms = (double)h->barrier_ns / 1e6;
    out->prefaulted_bytes = prefault_populated_bytes(h);
    out->prefault_cpu_ms = (double)prefault_cpu_ns(h) / 1e6;
    out->prefaulted_by_mutators_bytes = prefault_assisted_bytes(h);
    out->major_threshold_bytes = (uint64_t)h->major_threshold_blocks << BLOCK_SHIFT;
    out->old_bytes = (uint64_t)h->old_blocks << BLOCK_SHIFT;
    out->live_estimate_bytes = h->sizing.live_estimate;
    out->heap_goal_bytes = h->sizing.live_estimate + h->sizing.goal_budget;
    out->unswept_blocks = h->sweep_pending;
    if (h->barrier->trap_counts) {
        uint64_t traps, ns;
        h->barrier->trap_counts(h, &traps, &ns);
        out->barrier_traps = traps;
        out->barrier_ms += (double)ns / 1e6;
    }
    size_t n = h->pauses.count;
    double *sorted = n ? malloc(n * sizeof *sorted) : NULL;
    if (sorted) {
        memcpy(sorted, h->pauses.ms, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, compare_double);
        out->pause_p50_ms = percentile(sorted, n, 0.50);
        out->pause_p95_ms = percentile(sorted, n, 0.95);
        out->pause_p99_ms = percentile(sorted, n, 0.99);
        free(sorted);
    }
    pthread_mutex_unlock(&h->lock);
}

void gc_reset_pause_stats(struct gc_heap *h)
{
    h->pauses.count = 0;
    h->stats.pause_max_ms = 0;
    h->stats.pause_total_ms = 0;
    h->stats.final_pause_max_ms = 0;
    h->stats.stop_wait_ms = h->stats.stop_wait_max_ms = h->stats.resume_wait_ms = 0;
}

/* Each worker's count of objects, then each one's CPU time. */
static void print_per_worker(FILE *f, const struct gc_heap *h, const uint64_t *objects,
                             const uint64_t *cpu_ns)
{
    for (unsigned k = 0; k < h->parallelism && k < GC_STATS_WORKERS; k++)
        fprintf(f, " %llu", (unsigned long long)objects[k]);
    fprintf(f, "; CPU ms of each:");
    for (unsigned k = 0; k < h->parallelism && k < GC_STATS_WORKERS; k++)
        fprintf(f, " %.1f", (double)cpu_ns[k] / 1e6);
}

void gc_print_stats(const struct gc_heap *h, void *file)
{
    FILE *f = file;
    struct gc_stats s;
    gc_get_stats(h, &s);
    fprintf(f, "gc: barrier %s (%s)\n", gc_barrier_name(h->barrier_kind), h->barrier_reason);
    fprintf(f,
            "gc: %llu minor, %llu major collections; pauses p50 %.3f ms, p95 %.3f ms, "
            "max %.3f ms, total %.1f ms\n",
            (unsigned long long)s.minor_collections, (unsigned long long)s.major_collections,
            s.pause_p50_ms, s.pause_p95_ms, s.pause_max_ms, s.pause_total_ms);
    if (s.resume_wait_ms > 0) /* another mutator was stopped */
        fprintf(f,
                "gc: stopping the other mutators %.1f ms (longest %.3f ms), their resuming "
                "%.1f ms\n",
                s.stop_wait_ms, s.stop_wait_max_ms, s.resume_wait_ms);
    fprintf(f, "gc: allocated %.1f MiB, promoted %.1f MiB, heap %.1f MiB (peak %.1f MiB)\n",
            (double)s.bytes_allocated / 1048576.0, (double)s.bytes_promoted / 1048576.0,
            (double)s.heap_bytes / 1048576.0, (double)s.peak_heap_bytes / 1048576.0);
    fprintf(f,
            "gc: barrier: %llu traps, %llu dirty %s found (in %llu blocks read), %llu fields "
            "scanned for them, %.1f ms; %llu pinned blocks; %llu hot pages\n",
            (unsigned long long)s.barrier_traps, (unsigned long long)s.dirty_units,
            dirty_unit_name(h), (unsigned long long)s.remembered_blocks_read,
            (unsigned long long)s.remembered_fields, s.barrier_ms,
            (unsigned long long)s.pinned_blocks, (unsigned long long)s.hot_pages);
    if (s.minors_by_cards)
        fprintf(f, "gc: %llu minor collections started by written cards\n",
                (unsigned long long)s.minors_by_cards);
    fprintf(f,
            "gc: growth outside pauses: %s; %.1f MiB faulted in ahead (%.1f ms of CPU) and "
            "%.1f MiB by mutators, %.1f MiB returned\n",
            h->prefault_state, (double)s.prefaulted_bytes / 1048576.0, s.prefault_cpu_ms,
            (double)s.prefaulted_by_mutators_bytes / 1048576.0,
            (double)s.released_bytes / 1048576.0);
    fprintf(f, "gc: huge pages: %s\n", h->huge_pages_state);
    if (s.parallel_minor_collections) {
        fprintf(f, "gc: %llu minor collections on %u workers; objects copied by each:",
                (unsigned long long)s.parallel_minor_collections, h->parallelism);
        print_per_worker(f, h, s.objects_copied_by_worker, s.cpu_ns_by_worker);
        fprintf(f, "; remembered-set fields of each:");
        for (unsigned k = 0; k < h->parallelism && k < GC_STATS_WORKERS; k++)
            fprintf(f, " %llu", (unsigned long long)s.remembered_fields_by_worker[k]);
        fprintf(f,
                "; %llu steals; %llu phases helped by stopped mutators (%llu of their own "
                "root tracers)\n",
                (unsigned long long)s.work_steals, (unsigned long long)s.phases_helped,
                (unsigned long long)s.own_roots_traced_by_helpers);
    }
    if (s.parallel_marks) {
        fprintf(f, "gc: %llu markings on %u workers; objects marked by each:",
                (unsigned long long)s.parallel_marks, h->parallelism);
        print_per_worker(f, h, s.objects_marked_by_worker, s.mark_cpu_ns_by_worker);
        fprintf(f, "\n");
    }
    fprintf(f, "gc: major collections: %s", h->concurrent_state);
    if (s.concurrent_cycles)
        fprintf(f,
                "; %llu cycles, marker %.1f ms; %llu dirty %s re-scanned (%.0f a cycle, %llu "
                "in the last), %llu of them in final pauses; final pause max %.3f ms, last "
                "%.3f ms",
                (unsigned long long)s.concurrent_cycles, s.concurrent_mark_ms,
                (unsigned long long)s.mark_rescanned_units, dirty_unit_name(h),
                (double)s.mark_rescanned_units / (double)s.concurrent_cycles,
                (unsigned long long)s.last_cycle_rescanned_units,
                (unsigned long long)s.final_rescanned_units, s.final_pause_max_ms,
                s.final_pause_last_ms);
    fprintf(f, "\n");
    if (s.ephemerons_set_aside || s.weak_liveness_tests)
        fprintf(f, "gc: weak objects: %llu ephemerons set aside, %llu liveness tests\n",
                (unsigned long long)s.ephemerons_set_aside,
                (unsigned long long)s.weak_liveness_tests);
    fprintf(f,
            "gc: heap sizing: live estimate %.1f MiB, goal %.1f MiB, next major at %.1f MiB old; "
            "%.1f MiB marked by minor pauses (%llu assists, %llu of them on the workers)\n",
            (double)s.live_estimate_bytes / 1048576.0, (double)s.heap_goal_bytes / 1048576.0,
            (double)s.major_threshold_bytes / 1048576.0, (double)s.assist_marked_bytes / 1048576.0,
            (unsigned long long)s.assists, (unsigned long long)s.assists_on_workers);
    fprintf(f, "gc: sweep: %llu blocks in pauses, %llu outside them, %llu waiting\n",
            (unsigned long long)s.swept_blocks_in_pauses,
            (unsigned long long)s.swept_blocks_outside_pauses,
            (unsigned long long)s.unswept_blocks);
}
