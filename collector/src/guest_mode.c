/* The collector's use of the engine: the gcvm barriers need every mutator thread in
 * guest ring 0, each on its own vCPU, where its writes go through page tables the
 * collector can read and protect. A heap with a gcvm barrier, and each mutator that
 * attaches to one, holds its thread in guest mode: the first hold of a thread enters
 * guest mode (unless the thread is there already), the last release takes it back out
 * (only if a hold put it there).
 *
 * Writes made in host mode set no dirty bit and take no protection fault. Each mutator
 * notes its stay in guest mode (gcvm_guest_stay()) whenever it starts running heap code
 * (attach, the end of a safepoint or blocking region) and compares it whenever it stops
 * (a safepoint, a blocking region, a collection it starts, detach). A different stay, or
 * none, means that thread ran in host mode in between: the heap records it, the next
 * collection scans the whole old generation, with a warning, and the thread is put back
 * in guest mode when it runs again. The stay is the thread's own, so other threads
 * entering and leaving guest mode do not disturb the check (docs/collector.md,
 * "Threads"). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "gcvm/gcvm.h"
#include "guest_mode.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED_BUILD 1
#else
#define SANITIZED_BUILD 0
#endif

static _Thread_local unsigned holds;         /* this thread's heaps and mutators */
static _Thread_local bool collector_entered; /* a hold called gcvm_enter() */

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

int guest_mode_hold(char *err, size_t err_len)
{
    if (!guest_mode_available(err, err_len))
        return -1;
    if (!gcvm_in_guest()) {
        int rc = gcvm_enter();
        if (rc != 0) {
            snprintf(err, err_len,
                     "cannot put the thread in guest mode for a gcvm barrier: %s (%s); %s",
                     gcvm_last_error(), strerror(-rc),
                     rc == -EBUSY ? "attach fewer threads at once or use another barrier"
                                  : "use another barrier here");
            return -1;
        }
        if (holds == 0)
            collector_entered = true;
    }
    holds++;
    return 0;
}

void guest_mode_release(void)
{
    if (holds == 0)
        return;
    if (--holds == 0 && collector_entered) {
        collector_entered = false;
        if (gcvm_in_guest())
            gcvm_exit();
    }
}

/* Puts the calling thread back in guest mode, or ends the process saying why not. */
static void enter_again(const char *barrier, const char *who)
{
    if (gcvm_in_guest())
        return;
    int rc = gcvm_enter();
    if (rc != 0)
        gc_fatal("%s barrier: %s left guest mode and cannot enter it again: %s (%s)", barrier, who,
                 gcvm_last_error(), strerror(-rc));
}

void guest_mode_mutator_resumes(struct gc_mutator *m)
{
    enter_again(gc_barrier_name(m->heap->barrier_kind), "a mutator");
    m->guest_stay = gcvm_guest_stay();
}

void guest_mode_mutator_stops(struct gc_mutator *m)
{
    if (gcvm_guest_stay() != m->guest_stay)
        m->heap->mutator_left_guest = true;
}

bool guest_mode_collecting(struct gc_heap *h, const char *barrier, bool end_of_collection)
{
    enter_again(barrier, "the collecting thread");
    bool kept = !h->mutator_left_guest;
    if (!kept && !h->guest_warned) {
        h->guest_warned = true;
        gc_warn("%s barrier: a mutator ran in host mode since the last collection "
                "(gcvm_exit, or a longjmp out of guest mode), where its writes are not "
                "seen; the collector scans the whole old generation once and puts the "
                "thread back in guest mode (this warning is given once per heap)",
                barrier);
    }
    if (end_of_collection)
        h->mutator_left_guest = false;
    return kept;
}
