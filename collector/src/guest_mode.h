/* Keeping a heap's mutator in guest mode, for the gcvm barriers (guest_mode.c). */
#ifndef GCVM_GUEST_MODE_H
#define GCVM_GUEST_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include "gc_internal.h"

/* Per heap: what the engine's entry count was at the last check. */
struct guest_tracking {
    uint64_t entries;
    bool warned;
};

/* 1 when the engine can be used by this build on this machine, else 0 with the reason. */
int guest_mode_available(char *why, size_t why_len);

/* Whether guest ring 0 runs on VT-x/AMD-V here (not an instruction emulator). */
bool guest_mode_is_hardware(void);

/* Puts the calling thread in guest mode if it is not there yet, and starts tracking.
 * Returns 0, or -1 with a one-line reason in err. */
int guest_mode_attach(struct guest_tracking *t, char *err, size_t err_len);

/* The heap is going: the last one takes the thread back to host mode if attaching put
 * it in guest mode. */
void guest_mode_detach(struct guest_tracking *t);

/* At a collection: true when the thread stayed in guest mode since the last call (or
 * attach). When it did not, warns once per heap and puts it back in guest mode (or ends
 * the process with the engine's reason when that fails); the caller must then treat
 * every old page as written. */
bool guest_mode_kept(struct guest_tracking *t, const char *barrier);

#endif
