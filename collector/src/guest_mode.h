/* Keeping a gcvm-barrier heap's mutators in guest mode (guest_mode.c). */
#ifndef GCVM_GUEST_MODE_H
#define GCVM_GUEST_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include "gc_internal.h"

/* 1 when the engine can be used by this build on this machine, else 0 with the reason. */
int guest_mode_available(char *why, size_t why_len);

/* Whether guest ring 0 runs on VT-x/AMD-V here (not an instruction emulator). */
bool guest_mode_is_hardware(void);

/* Holds the calling thread in guest mode (for a heap, or a mutator of one): puts it
 * there, on a vCPU of its own, if it is not there yet. Returns 0, or -1 with a one-line
 * reason in err (the engine is unusable, or has no vCPU left). */
int guest_mode_hold(char *err, size_t err_len);

/* Undoes one guest_mode_hold() of the calling thread: the last one takes the thread back
 * to host mode if a hold put it in guest mode. */
void guest_mode_release(void);

/* The calling thread, mutator m, starts running heap code (attach, the end of a
 * safepoint or blocking region, the end of a collection it ran): puts it back in guest
 * mode if it left (or ends the process with the engine's reason when that fails), and
 * notes its stay there. Under the heap's lock. */
void guest_mode_mutator_resumes(struct gc_mutator *m);

/* The calling thread, mutator m, stops running heap code (a safepoint, a blocking
 * region, a collection it starts, detach): when it did not stay in guest mode since it
 * last resumed, the heap records that a mutator's writes went unseen. Under the heap's
 * lock. */
void guest_mode_mutator_stops(struct gc_mutator *m);

/* At a collection, on the collecting thread: puts it in guest mode if it is not (or ends
 * the process with the engine's reason), and returns true when every mutator stayed in
 * guest mode since the last collection. When one did not, warns once per heap; the
 * caller must then treat every old page as written. end_of_collection forgets the
 * record (the barrier's re-arm, after which nothing from before matters). */
bool guest_mode_collecting(struct gc_heap *h, const char *barrier, bool end_of_collection);

#endif
