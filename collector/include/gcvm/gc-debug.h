/* gcvm collector: hooks for tests and debugging, not for programs. What they return
 * depends on the collector's internals and may change between versions. */
#ifndef GCVM_GC_DEBUG_H
#define GCVM_GC_DEBUG_H

#include "gc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For tests that compare barriers on one mutation trace: reads the barrier's record of
 * the old generation's writes since the last collection, as a minor collection would
 * (without collecting), and writes to pages, in increasing order, the index within the
 * heap's region of each old page found written (for the card barrier: each page holding
 * a dirty card). Returns how many were found, which may exceed max (then only max are
 * written). A later collection sees the same writes. Stops the other mutators meanwhile. */
GCVM_GC_API size_t gc_debug_written_pages(struct gc_mutator *mut, size_t *pages, size_t max);

/* How many times promotion has weighed a partly free block for reuse (its free cells
 * counted) since the heap was created: a count that should grow with the blocks promotion
 * fills, not with the size of the old generation. */
GCVM_GC_API uint64_t gc_debug_reuse_blocks_weighed(struct gc_heap *heap);

/* hold != 0: the thread that populates free blocks ahead (gc_stats.prefaulted_bytes)
 * populates nothing until called again with 0, as when it gets no core; the mutators'
 * share (prefaulted_by_mutators_bytes) goes on. No effect on a heap without the thread. */
GCVM_GC_API void gc_debug_prefault_hold(struct gc_heap *heap, int hold);

/* How many free blocks collections have taken (for promotion) whose pages nobody had
 * populated: each a first touch inside a pause. */
GCVM_GC_API uint64_t gc_debug_cold_blocks_taken_in_pauses(struct gc_heap *heap);

/* Concurrent marking, one step at a time, for tests that must place a store at an exact
 * moment of a cycle. They return -1 (and do nothing) when the heap does not mark
 * concurrently or, where it matters, when no cycle runs. */

/* hold != 0: the background marker does no work until called again with 0; marking then
 * advances only by gc_debug_mark_step. Returns when the marker is idle. */
GCVM_GC_API void gc_debug_marker_hold(struct gc_heap *heap, int hold);

/* Starts a cycle now, in a pause that is a minor collection (no-op, -1, when one runs). */
GCVM_GC_API int gc_debug_cycle_start(struct gc_mutator *mut);

/* Runs up to `steps` steps of the marker's work on the calling thread (a step traces one
 * object, or a 64 KiB chunk of a large one). Returns the steps done: fewer than
 * asked means the marker has nothing left until the next pause. */
GCVM_GC_API long gc_debug_mark_step(struct gc_mutator *mut, size_t steps);

/* The most chunks of a large object (64 KiB each) the background marker thread traced
 * between two looks at a pause request, over the heap's life: how long a pause may wait
 * for it to park. -1 when the heap does not mark concurrently. */
GCVM_GC_API long gc_debug_marker_chunks_unlooked(struct gc_mutator *mut);

/* The colour of an old object in the running cycle: 0 white (unmarked), 1 grey (marked,
 * fields not traced yet), 2 black (marked and traced). */
GCVM_GC_API int gc_debug_mark_color(struct gc_mutator *mut, const void *obj);

/* Ends the running cycle now with its final pause. */
GCVM_GC_API int gc_debug_cycle_finish(struct gc_mutator *mut);

/* wait != 0: each phase of a parallel collection starts its collecting thread's part only
 * once the stopped mutators that offered to help have joined it (or 100 ms passed), so
 * that a test of their help does not depend on how the threads are scheduled. No-op for
 * a heap with one collector thread. */
GCVM_GC_API void gc_debug_wait_for_helpers(struct gc_heap *heap, int wait);

/* bytes != 0: from now on, every minor pause of a concurrent cycle assists the marker
 * with that many bytes of marking (or all that is left), whatever the cycle's schedule
 * says and however long it takes, so that a slow build (a sanitizer's) marks as much;
 * 0: as the schedule says, within an assist's bounds of time. For the tests of assists,
 * with the marker held (gc_debug_marker_hold) so that only they mark. */
GCVM_GC_API void gc_debug_assist_bytes(struct gc_heap *heap, uint64_t bytes);

/* Whether obj is an object of the heap's old generation after the last collection (its
 * cell is allocated), for a test that checks what a collection freed. */
GCVM_GC_API int gc_debug_is_allocated(struct gc_mutator *mut, const void *obj);

/* The factor by which heap sizing changes an adaptive nursery after a minor pause over
 * its target that took pause_cpu_ns of CPU, fixed_ns of it in parts that do not grow with
 * the nursery (the barrier's steps, the remembered-set scan). */
GCVM_GC_API double gc_debug_nursery_scale(uint64_t pause_cpu_ns, uint64_t fixed_ns);

/* The number of cards written into old objects since the last minor collection at which
 * the next one starts, before the nursery is full (docs/collector.md, "Written cards
 * start a collection"); UINT64_MAX where written cards start none (a barrier other than
 * card, a fixed nursery size). cost_ns > 0 (where they do start one): from now on a card
 * is taken to cost that much CPU time in a pause, whatever the pauses measure, so that a
 * test's budget does not depend on the machine; 0: only read the budget. */
GCVM_GC_API uint64_t gc_debug_card_budget(struct gc_heap *heap, double cost_ns);

#ifdef __cplusplus
}
#endif
#endif
