/* Features: (features) and cond-expand, which picks the first clause whose requirement
 * holds when a form is expanded. A requirement is a feature name, (library NAME) for a
 * built-in library, or and/or/not of requirements; else holds always. */
#include <string.h>

#include "scheme.h"

static const char *const feature_names[] = {"r7rs",       "exact-closed", "ratios", "posix",
                                            "ieee-float", "gcvm-scheme",  NULL};

static bool named(value sym, const char *name)
{
    return SYMBOL_P(sym) && strcmp(SYM(sym)->name, name) == 0;
}

static bool requirement_holds(value req, value whole)
{
    if (SYMBOL_P(req)) {
        for (int i = 0; feature_names[i]; i++)
            if (named(req, feature_names[i]))
                return true;
        return named(req, "else");
    }
    if (!PAIR_P(req) || list_length(req) < 1)
        scm_error1("cond-expand: a requirement is a feature name or (and|or|not|library ...)",
                   whole);
    value head = CAR(req);
    if (named(head, "library"))
        return list_length(req) == 2 && library_available(CAR(CDR(req)));
    if (named(head, "not"))
        return list_length(req) == 2 && !requirement_holds(CAR(CDR(req)), whole);
    bool conj = named(head, "and");
    if (!conj && !named(head, "or"))
        scm_error1("cond-expand: a requirement is a feature name or (and|or|not|library ...)",
                   whole);
    for (value r = CDR(req); PAIR_P(r); r = CDR(r))
        if (requirement_holds(CAR(r), whole) != conj)
            return !conj;
    return conj;
}

value cond_expand_select(value form)
{
    for (value c = CDR(form); PAIR_P(c); c = CDR(c))
        if (PAIR_P(CAR(c)) && requirement_holds(CAR(CAR(c)), form))
            return cons(intern_c("begin"), CDR(CAR(c)));
    return cons(intern_c("begin"), NIL);
}

static value p_features(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    size_t base = vsp;
    for (int i = 0; feature_names[i]; i++)
        vs_push(intern_c(feature_names[i]));
    value l = list_from_stack(base, vsp - base, NIL);
    vsp = base;
    return l;
}

void features_init(void)
{
    define_primitive("features", p_features, 0, 0);
}
