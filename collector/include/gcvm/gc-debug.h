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

#ifdef __cplusplus
}
#endif
#endif
