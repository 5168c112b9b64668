/* The collector's use of the engine: the gcvm barriers need the mutator thread in guest
 * ring 0, where its writes go through page tables the collector can read and protect.
 * The first heap with a gcvm barrier puts the thread there (unless it already is), the
 * last one destroyed takes it back out (only if the collector put it there).
 *
 * Writes made in host mode set no dirty bit and take no protection fault. A thread that
 * left guest mode between two collections (gcvm_exit(), or a longjmp out of a signal
 * handler) is noticed from the engine's entry count: the next minor collection scans the
 * whole old generation, with a warning, and the thread is put back in guest mode. */
#define _GNU_SOURCE
#include <string.h>

#include "gcvm/gcvm.h"
#include "guest_mode.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED_BUILD 1
#else
#define SANITIZED_BUILD 0
#endif

static _Thread_local unsigned heaps_in_guest; /* this thread's heaps with a gcvm barrier */
static _Thread_local bool collector_entered;  /* the collector called gcvm_enter() */

int guest_mode_available(char *why, size_t why_len)
{
    if (SANITIZED_BUILD) {
        snprintf(why, why_len,
                 "this build uses sanitizers, whose instrumented code cannot run in guest "
                 "mode (use a build without GCVM_SANITIZE)");
        return 0;
    }
    int rc = gcvm_init();
    if (rc != 0) {
        snprintf(why, why_len, "the gcvm engine is not usable: %s", gcvm_last_error());
        return 0;
    }
    return 1;
}

bool guest_mode_is_hardware(void)
{
    struct gcvm_info info;
    return gcvm_init() == 0 && gcvm_get_info(&info) == 0 && info.hardware;
}

static uint64_t current_entries(void)
{
    struct gcvm_info info;
    return gcvm_get_info(&info) == 0 ? info.entries : 0;
}

int guest_mode_attach(struct guest_tracking *t, char *err, size_t err_len)
{
    if (!guest_mode_available(err, err_len))
        return -1;
    if (!gcvm_in_guest()) {
        int rc = gcvm_enter();
        if (rc != 0) {
            snprintf(err, err_len, "cannot put the mutator in guest mode: %s (%s)",
                     gcvm_last_error(), strerror(-rc));
            return -1;
        }
        if (heaps_in_guest == 0)
            collector_entered = true;
    }
    heaps_in_guest++;
    memset(t, 0, sizeof *t);
    t->entries = current_entries();
    return 0;
}

void guest_mode_detach(struct guest_tracking *t)
{
    (void)t;
    if (heaps_in_guest == 0)
        return;
    if (--heaps_in_guest == 0 && collector_entered) {
        collector_entered = false;
        if (gcvm_in_guest())
            gcvm_exit();
    }
}

bool guest_mode_kept(struct guest_tracking *t, const char *barrier)
{
    bool in_guest = gcvm_in_guest();
    uint64_t entries = current_entries();
    bool kept = in_guest && entries == t->entries;
    if (!in_guest) {
        int rc = gcvm_enter();
        if (rc != 0)
            gc_fatal("%s barrier: the mutator left guest mode and cannot enter it again: "
                     "%s (%s)",
                     barrier, gcvm_last_error(), strerror(-rc));
        entries = current_entries();
    }
    if (!kept && !t->warned) {
        t->warned = true;
        gc_warn("%s barrier: the mutator ran in host mode since the last collection "
                "(gcvm_exit, or a longjmp out of guest mode), where its writes are not "
                "seen; the collector scans the whole old generation once and puts the "
                "thread back in guest mode (this warning is given once per heap)",
                barrier);
    }
    t->entries = entries;
    return kept;
}
