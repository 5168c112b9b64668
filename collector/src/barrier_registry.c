/* The barrier registry: names, the backends' operations, whether this machine offers a
 * barrier, and which one a heap gets from its configuration and the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_internal.h"
/* ---- Barrier names ---- */

static const char *const barrier_names[GC_BARRIER_KIND_COUNT] = {
    [GC_BARRIER_DEFAULT] = "default",
    [GC_BARRIER_NONE] = "none",
    [GC_BARRIER_CARD] = "card",
    [GC_BARRIER_MPROTECT] = "mprotect",
    [GC_BARRIER_UFFD] = "uffd",
    [GC_BARRIER_SOFT_DIRTY] = "soft-dirty",
    [GC_BARRIER_GCVM_DIRTY] = "gcvm-dirty",
    [GC_BARRIER_GCVM_PROTECT] = "gcvm-protect",
    [GC_BARRIER_AUTO] = "auto",
};

const char *gc_barrier_name(enum gc_barrier_kind kind)
{
    return (unsigned)kind < GC_BARRIER_KIND_COUNT ? barrier_names[kind] : NULL;
}

int gc_barrier_uses_guest_mode(enum gc_barrier_kind kind)
{
    return kind == GC_BARRIER_GCVM_DIRTY || kind == GC_BARRIER_GCVM_PROTECT;
}

const char *gc_barrier_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (unsigned k = GC_BARRIER_NONE; k < GC_BARRIER_KIND_COUNT && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", k == GC_BARRIER_NONE ? "" : ", ",
                                 barrier_names[k]);
    return buf;
}

int gc_barrier_parse(const char *name, enum gc_barrier_kind *out)
{
    for (unsigned k = GC_BARRIER_NONE; k < GC_BARRIER_KIND_COUNT; k++) {
        if (strcmp(name, barrier_names[k]) == 0) {
            *out = (enum gc_barrier_kind)k;
            return 0;
        }
    }
    return -1;
}

const struct gc_barrier_ops *barrier_ops_for(enum gc_barrier_kind kind)
{
    switch (kind) {
    case GC_BARRIER_NONE: return &gc_barrier_none_ops;
    case GC_BARRIER_CARD: return &gc_barrier_card_ops;
    case GC_BARRIER_MPROTECT: return &gc_barrier_mprotect_ops;
    case GC_BARRIER_UFFD: return &gc_barrier_uffd_ops;
    case GC_BARRIER_SOFT_DIRTY: return &gc_barrier_soft_dirty_ops;
    case GC_BARRIER_GCVM_DIRTY: return &gc_barrier_gcvm_dirty_ops;
    case GC_BARRIER_GCVM_PROTECT: return &gc_barrier_gcvm_protect_ops;
    default: return NULL;
    }
}

int gc_barrier_available(enum gc_barrier_kind kind, char *why, size_t why_len)
{
    if (kind == GC_BARRIER_AUTO || kind == GC_BARRIER_DEFAULT)
        return 1;
    const struct gc_barrier_ops *ops = barrier_ops_for(kind);
    if (!ops) {
        gc_set_error(why, why_len, "not a barrier kind");
        return 0;
    }
    char scratch[256];
    return ops->available(why ? why : scratch, why ? why_len : sizeof scratch);
}

int barrier_resolve(const struct gc_config *cfg, enum gc_barrier_kind *kind, char *reason,
                    size_t reason_len, char *err, size_t err_len)
{
    *kind = cfg->barrier;
    reason[0] = 0;
    if (*kind == GC_BARRIER_DEFAULT) {
        const char *env = getenv("GCVM_BARRIER");
        if (env && *env) {
            if (gc_barrier_parse(env, kind) != 0) {
                char names[160];
                gc_set_error(err, err_len, "GCVM_BARRIER=%s is not a barrier; use one of %s", env,
                             gc_barrier_names(names, sizeof names));
                return -1;
            }
            snprintf(reason, reason_len, "chosen by GCVM_BARRIER");
        } else {
            *kind = GC_BARRIER_AUTO;
        }
    }
    if ((unsigned)*kind >= GC_BARRIER_KIND_COUNT) {
        gc_set_error(err, err_len, "barrier kind %d is not valid", (int)*kind);
        return -1;
    }
    if (*kind == GC_BARRIER_AUTO)
        *kind = barrier_auto_choose(reason, reason_len);
    char why[256];
    if (!gc_barrier_available(*kind, why, sizeof why)) {
        gc_set_error(err, err_len, "barrier %s is not available on this machine: %s",
                     gc_barrier_name(*kind), why);
        return -1;
    }
    if (!reason[0])
        snprintf(reason, reason_len, "chosen by the heap's configuration");
    return 0;
}
