/* Macros: top-level define-syntax with syntax-rules, expanded before a form is compiled.
 *
 * The expander is not hygienic: a template's symbols mean whatever they mean where the
 * expansion lands, and a local variable does not shadow a macro's name. Patterns have
 * literals, _, nested lists, dotted tails, vectors and ellipses (p ... followed by more
 * patterns). Expansion allocates, so it runs before the compiler (which must not), and
 * keeps everything it holds on the value stack: slots are vs indices, re-read after every
 * allocation. */
#include <string.h>

#include "scheme.h"

void stack_check(void);

static value sym_define_syntax, sym_syntax_rules, sym_ellipsis, sym_underscore, sym_quote,
    sym_quasiquote, sym_group, sym_cond_expand, sym_include;

/* ---- Matching ---- */

static bool is_literal(value sym, value literals)
{
    for (; PAIR_P(literals); literals = CDR(literals))
        if (CAR(literals) == sym)
            return true;
    return false;
}

/* Prepends (key . val) to the alist at vs[bslot]. */
static void bind(size_t bslot, value key, value val)
{
    vs_push(key);
    vs_push(val);
    value entry = cons(vs[vsp - 2], vs[vsp - 1]);
    vs[vsp - 2] = entry;
    vs[bslot] = cons(vs[vsp - 2], vs[bslot]);
    vsp -= 2;
}

static long proper_part_length(value l)
{
    long n = 0;
    for (; PAIR_P(l); l = CDR(l))
        n++;
    return n;
}

/* Matches the pattern vs[pslot] against the form vs[fslot], adding bindings to the alist
 * at vs[bslot]. The literals are in vs[lslot]. */
static bool match(size_t pslot, size_t fslot, size_t bslot, size_t lslot)
{
    stack_check();
    value pat = vs[pslot], form = vs[fslot];
    if (SYMBOL_P(pat)) {
        if (pat == sym_underscore)
            return true;
        if (is_literal(pat, vs[lslot]))
            return form == pat;
        bind(bslot, pat, form);
        return true;
    }
    if (PAIR_P(pat) && PAIR_P(CDR(pat)) && CAR(CDR(pat)) == sym_ellipsis) {
        /* (p ... rest...): p matches as many items as leave enough for rest */
        value rest_pat = CDR(CDR(pat));
        long need = proper_part_length(rest_pat), have = proper_part_length(form);
        if (have < need)
            return false;
        size_t base = vsp;
        vs_push(CAR(pat)); /* base: the repeated pattern */
        vs_push(form);     /* base+1: the items left */
        vs_push(NIL);      /* base+2: one alist per repetition, reversed */
        vs_push(NIL);      /* base+3: this repetition's alist */
        vs_push(NIL);      /* base+4: the item */
        for (long i = 0; i < have - need; i++) {
            vs[base + 3] = NIL;
            vs[base + 4] = CAR(vs[base + 1]);
            if (!match(base, base + 4, base + 3, lslot)) {
                vsp = base;
                return false;
            }
            vs[base + 2] = cons(vs[base + 3], vs[base + 2]);
            vs[base + 1] = CDR(vs[base + 1]);
        }
        value reps = NIL;
        for (value l = vs[base + 2]; PAIR_P(l); l = CDR(l)) {
            vs_push(l);
            vs_push(reps);
            reps = cons(CAR(vs[vsp - 2]), vs[vsp - 1]);
            l = vs[vsp - 2];
            vsp -= 2;
        }
        /* The group: (group-marker . (repeated pattern . alists in order)); the pattern
         * says which variables the group binds, also when it repeated zero times. */
        vs_push(reps);
        reps = cons(vs[base], vs[vsp - 1]);
        vsp--;
        bind(bslot, sym_group, reps);
        vs[base] = CDR(CDR(vs[pslot])); /* the rest of the pattern */
        bool ok = match(base, base + 1, bslot, lslot);
        vsp = base;
        return ok;
    }
    if (PAIR_P(pat)) {
        if (!PAIR_P(form))
            return false;
        size_t base = vsp;
        vs_push(CAR(pat));
        vs_push(CAR(form));
        bool ok = match(base, base + 1, bslot, lslot);
        if (ok) {
            vs[base] = CDR(vs[pslot]);
            vs[base + 1] = CDR(vs[fslot]);
            ok = match(base, base + 1, bslot, lslot);
        }
        vsp = base;
        return ok;
    }
    if (VECTOR_P(pat)) {
        if (!VECTOR_P(form))
            return false;
        size_t base = vsp;
        vs_push(NIL);
        vs_push(NIL);
        for (size_t i = VLEN(vs[pslot]); i-- > 0;)
            vs[base] = cons(VREF(vs[pslot], i), vs[base]);
        for (size_t i = VLEN(vs[fslot]); i-- > 0;)
            vs[base + 1] = cons(VREF(vs[fslot], i), vs[base + 1]);
        bool ok = match(base, base + 1, bslot, lslot);
        vsp = base;
        return ok;
    }
    return values_equal(pat, form);
}

/* ---- Expanding a template ---- */

/* The value bound to sym directly (not in a group), or UNASSIGNED. */
static value lookup(value sym, value bindings)
{
    for (; PAIR_P(bindings); bindings = CDR(bindings))
        if (CAR(CAR(bindings)) == sym)
            return CDR(CAR(bindings));
    return UNASSIGNED;
}

/* Whether the symbol sym occurs in the pattern (as a pattern variable). */
static bool occurs(value sym, value pattern)
{
    if (SYMBOL_P(pattern))
        return pattern == sym && sym != sym_ellipsis && sym != sym_underscore;
    if (PAIR_P(pattern))
        return occurs(sym, CAR(pattern)) || occurs(sym, CDR(pattern));
    if (VECTOR_P(pattern))
        for (size_t i = 0; i < VLEN(pattern); i++)
            if (occurs(sym, VREF(pattern, i)))
                return true;
    return false;
}

/* Whether a symbol of template t is a variable of the pattern. */
static bool uses_group(value t, value pattern)
{
    if (SYMBOL_P(t))
        return occurs(t, pattern);
    if (PAIR_P(t))
        return uses_group(CAR(t), pattern) || uses_group(CDR(t), pattern);
    if (VECTOR_P(t))
        for (size_t i = 0; i < VLEN(t); i++)
            if (uses_group(VREF(t, i), pattern))
                return true;
    return false;
}

/* The repetitions (alists) that drive `sub ...`: those of the first group whose pattern
 * binds one of sub's symbols. */
static value find_group(value sub, value bindings)
{
    for (; PAIR_P(bindings); bindings = CDR(bindings)) {
        value entry = CAR(bindings);
        if (CAR(entry) == sym_group && uses_group(sub, CAR(CDR(entry))))
            return CDR(CDR(entry));
    }
    return UNASSIGNED;
}

/* Prepends the alist a to the alist b (a copy of a's spine). */
static value append_alist(size_t aslot, size_t bslot)
{
    size_t base = vsp;
    vs_push(vs[bslot]);
    vs_push(NIL);
    for (value l = vs[aslot]; PAIR_P(l); l = CDR(l))
        vs[base + 1] = cons(CAR(l), vs[base + 1]);
    for (value l = vs[base + 1]; PAIR_P(l); l = CDR(l)) {
        vs_push(l);
        vs[base] = cons(CAR(vs[vsp - 1]), vs[base]);
        l = vs[--vsp];
    }
    value r = vs[base];
    vsp = base;
    return r;
}

static value expand_template(size_t tslot, size_t bslot, size_t whole_slot);

/* Expands the template vs[sub_slot] once per repetition, depth levels of ellipses deep,
 * prepending each result to the list at vs[out_slot]. */
static void expand_repeated(size_t sub_slot, int depth, size_t bslot, size_t out_slot,
                            size_t whole_slot)
{
    if (depth == 0) {
        value x = expand_template(sub_slot, bslot, whole_slot);
        vs[out_slot] = cons(x, vs[out_slot]);
        return;
    }
    value reps = find_group(vs[sub_slot], vs[bslot]);
    if (reps == UNASSIGNED)
        scm_error1("syntax-rules: an ellipsis follows a template with no pattern variable "
                   "from an ellipsis",
                   vs[whole_slot]);
    size_t base = vsp;
    vs_push(reps); /* base: repetitions left */
    vs_push(NIL);  /* base+1: the bindings of one repetition */
    vs_push(NIL);  /* base+2: its own alist */
    while (PAIR_P(vs[base])) {
        vs[base + 2] = CAR(vs[base]);
        vs[base + 1] = append_alist(base + 2, bslot);
        expand_repeated(sub_slot, depth - 1, base + 1, out_slot, whole_slot);
        vs[base] = CDR(vs[base]);
    }
    vsp = base;
}

static value expand_template(size_t tslot, size_t bslot, size_t whole_slot)
{
    stack_check();
    value t = vs[tslot];
    if (SYMBOL_P(t)) {
        value v = lookup(t, vs[bslot]);
        return v == UNASSIGNED ? t : v;
    }
    if (PAIR_P(t) && CAR(t) == sym_ellipsis && PAIR_P(CDR(t)))
        return CAR(CDR(t)); /* (... template): its ellipses are literal */
    if (PAIR_P(t) && PAIR_P(CDR(t)) && CAR(CDR(t)) == sym_ellipsis) {
        /* sub ... [...]: each extra ellipsis flattens one more level */
        int depth = 0;
        value after = CDR(t);
        while (PAIR_P(after) && CAR(after) == sym_ellipsis) {
            depth++;
            after = CDR(after);
        }
        size_t base = vsp;
        vs_push(CAR(t)); /* base: the repeated template */
        vs_push(NIL);    /* base+1: expansions, reversed */
        vs_push(after);  /* base+2: the template after the ellipses */
        expand_repeated(base, depth, bslot, base + 1, whole_slot);
        vs[base + 2] = expand_template(base + 2, bslot, whole_slot);
        vs_push(NIL); /* base+3: cursor */
        for (vs[base + 3] = vs[base + 1]; PAIR_P(vs[base + 3]); vs[base + 3] = CDR(vs[base + 3]))
            vs[base + 2] = cons(CAR(vs[base + 3]), vs[base + 2]);
        value r = vs[base + 2];
        vsp = base;
        return r;
    }
    if (PAIR_P(t)) {
        size_t base = vsp;
        vs_push(CAR(t));
        vs_push(expand_template(base, bslot, whole_slot));
        vs[base] = CDR(vs[tslot]);
        value d = expand_template(base, bslot, whole_slot);
        value r = cons(vs[base + 1], d);
        vsp = base;
        return r;
    }
    if (VECTOR_P(t)) {
        size_t base = vsp;
        vs_push(NIL);
        for (size_t i = VLEN(vs[tslot]); i-- > 0;)
            vs[base] = cons(VREF(vs[tslot], i), vs[base]);
        value l = expand_template(base, bslot, whole_slot);
        long n = list_length(l);
        vs[base] = l;
        value v = make_vector((size_t)(n < 0 ? 0 : n), UNASSIGNED);
        l = vs[base];
        for (long i = 0; i < n; i++, l = CDR(l))
            SET(v, VREF(v, i), CAR(l));
        vsp = base;
        return v;
    }
    return t;
}

/* ---- Definitions and the expansion pass ---- */

/* (syntax-rules (literal...) (pattern template)...), checked once when defined. */
static void check_rules(value spec, value whole)
{
    if (!PAIR_P(spec) || CAR(spec) != sym_syntax_rules || !PAIR_P(CDR(spec)) ||
        list_length(CAR(CDR(spec))) < 0)
        scm_error1("define-syntax: only (syntax-rules (literal ...) (pattern template) ...) is "
                   "supported",
                   whole);
    for (value r = CDR(CDR(spec)); PAIR_P(r); r = CDR(r))
        if (list_length(CAR(r)) != 2 || !PAIR_P(CAR(CAR(r))))
            scm_error1("syntax-rules: each rule is ((keyword . pattern) template)", whole);
}

/* Expands one use of the macro whose rules are in vs[spec_slot]; the use is vs[fslot]. */
static value expand_use(size_t spec_slot, size_t fslot)
{
    if (PAIR_LOC(vs[fslot]))
        current_location = PAIR_LOC(vs[fslot]); /* for the errors below */
    size_t base = vsp;
    vs_push(CAR(CDR(vs[spec_slot]))); /* base: literals */
    vs_push(CDR(CDR(vs[spec_slot]))); /* base+1: rules left */
    vs_push(NIL);                     /* base+2: pattern (without the keyword) */
    vs_push(NIL);                     /* base+3: form (without the keyword) */
    vs_push(NIL);                     /* base+4: bindings */
    vs_push(NIL);                     /* base+5: template */
    while (PAIR_P(vs[base + 1])) {
        value rule = CAR(vs[base + 1]);
        vs[base + 2] = CDR(CAR(rule));
        vs[base + 3] = CDR(vs[fslot]);
        vs[base + 4] = NIL;
        if (match(base + 2, base + 3, base + 4, base)) {
            vs[base + 5] = CAR(CDR(CAR(vs[base + 1])));
            value r = expand_template(base + 5, base + 4, fslot);
            vsp = base;
            return r;
        }
        vs[base + 1] = CDR(vs[base + 1]);
    }
    vsp = base;
    scm_error1("no syntax-rules pattern matches this use of the macro", vs[fslot]);
}

static value macro_of(value head)
{
    return SYMBOL_P(head) ? SYM(head)->macro : UNASSIGNED;
}

value expand_macros(value form);

/* Expands every macro use in vs[slot], in place. */
static void expand_in(size_t slot)
{
    stack_check();
    for (int rounds = 0; PAIR_P(vs[slot]); rounds++) {
        value head = CAR(vs[slot]);
        if (head == sym_quote || head == sym_quasiquote)
            return;
        if (head == sym_cond_expand) {
            vs[slot] = cond_expand_select(vs[slot]);
            continue;
        }
        if (head == sym_include) {
            vs[slot] = include_forms(vs[slot]);
            continue;
        }
        value spec = macro_of(head);
        if (spec == UNASSIGNED)
            break;
        if (rounds > 10000)
            scm_error1("macro expansion does not terminate", vs[slot]);
        vs_push(spec);
        value e = expand_use(vsp - 1, slot);
        vsp--;
        vs[slot] = e;
    }
    if (!PAIR_P(vs[slot]))
        return;
    if (CAR(vs[slot]) == sym_define_syntax) {
        value f = vs[slot];
        if (list_length(f) != 3 || !SYMBOL_P(CAR(CDR(f))))
            scm_error1("define-syntax takes a name and (syntax-rules ...)", f);
        check_rules(CAR(CDR(CDR(f))), f);
        symbol_set_macro(CAR(CDR(f)), CAR(CDR(CDR(f))));
        vs[slot] = cons(intern_c("begin"), NIL);
        return;
    }
    /* Expand inside each element; the list is rebuilt only if something changed. */
    size_t base = vsp;
    vs_push(vs[slot]); /* cursor */
    vs_push(NIL);      /* the element */
    while (PAIR_P(vs[base])) {
        vs[base + 1] = CAR(vs[base]);
        value before = vs[base + 1];
        if (PAIR_P(before)) {
            expand_in(base + 1);
            if (vs[base + 1] != CAR(vs[base]))
                SET(vs[base], CAR(vs[base]), vs[base + 1]);
        }
        vs[base] = CDR(vs[base]);
    }
    vsp = base;
}

value expand_macros(value form)
{
    vs_push(form);
    expand_in(vsp - 1);
    return vs[--vsp];
}

void macros_init(void)
{
    sym_define_syntax = intern_c("define-syntax");
    sym_syntax_rules = intern_c("syntax-rules");
    sym_ellipsis = intern_c("...");
    sym_underscore = intern_c("_");
    sym_quote = intern_c("quote");
    sym_quasiquote = intern_c("quasiquote");
    sym_group = make_uninterned_symbol("ellipsis-group");
    sym_cond_expand = intern_c("cond-expand");
    sym_include = intern_c("include");
}
