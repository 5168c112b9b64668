/* SRFI-124 ephemerons, guardians (Guile, Chez Scheme) and (gc). The collector-facing
 * part is weak.c; a guardian is applied by the evaluator (eval.c, apply_other). */
#include "scheme.h"

static value check_ephemeron(const char *who, value e)
{
    if (!IS(e, T_EPHEMERON))
        type_error(who, "an ephemeron", e);
    return e;
}

static value p_make_ephemeron(int argc, value *argv)
{
    (void)argc;
    return make_ephemeron(argv[0], argv[1]);
}

static value p_ephemeron_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_EPHEMERON));
}

static value p_ephemeron_broken(int argc, value *argv)
{
    (void)argc;
    return BOOL(ephemeron_broken(check_ephemeron("ephemeron-broken?", argv[0])));
}

static value p_ephemeron_key(int argc, value *argv)
{
    (void)argc;
    return ephemeron_key(check_ephemeron("ephemeron-key", argv[0]));
}

static value p_ephemeron_datum(int argc, value *argv)
{
    (void)argc;
    return ephemeron_datum(check_ephemeron("ephemeron-datum", argv[0]));
}

/* Its argument is an argument of a primitive call, so it is reachable until the call
 * returns: that is all SRFI-124 asks. */
static value p_reference_barrier(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return UNSPEC;
}

static value p_make_guardian(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return make_guardian();
}

static value p_gc(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    collect_full();
    return UNSPEC;
}

void prims_weak_init(void)
{
    define_primitive("make-ephemeron", p_make_ephemeron, 2, 2);
    define_primitive("ephemeron?", p_ephemeron_p, 1, 1);
    define_primitive("ephemeron-broken?", p_ephemeron_broken, 1, 1);
    define_primitive("ephemeron-key", p_ephemeron_key, 1, 1);
    define_primitive("ephemeron-datum", p_ephemeron_datum, 1, 1);
    define_primitive("reference-barrier", p_reference_barrier, 1, 1);
    define_primitive("make-guardian", p_make_guardian, 0, 0);
    define_primitive("gc", p_gc, 0, 0);
}
