/* Procedures and control: apply, map and friends, multiple values, dynamic-wind,
 * call/cc (escape-only), exceptions and error objects, promises, records. */
#include <string.h>

#include "code.h"

value call_with_escape_continuation(value f);
value dynamic_wind(value before, value thunk, value after);

bool procedure_p(value v)
{
    if (!POINTER_P(v))
        return false;
    unsigned t = OBJ_TYPE(v);
    return t == T_CLOSURE || t == T_PRIMITIVE || t == T_RECORD_PROC || t == T_CONTINUATION ||
           t == T_PARAMETER || t == T_CASE_LAMBDA || t == T_GUARDIAN;
}

static void check_procedure(const char *who, value v)
{
    if (!procedure_p(v))
        type_error(who, "a procedure", v);
}

static value p_procedure_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(procedure_p(argv[0]));
}

static value p_apply_unused(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return UNSPEC; /* apply is run by the evaluator (PRIM_APPLY) */
}

/* The shared loop of map, for-each, vector-map, vector-for-each, string-map,
 * string-for-each. kind: 'l' lists, 'v' vectors, 's' strings. collect: build a result. */
static value map_generic(const char *who, int argc, value *argv, char kind, bool collect)
{
    check_procedure(who, argv[0]);
    size_t abase = (size_t)(argv - vs);
    int nseq = argc - 1;
    size_t limit = SIZE_MAX;
    for (int i = 1; i < argc; i++) {
        value s = argv[i];
        size_t len;
        if (kind == 'l') {
            long n = list_length(s);
            if (n < 0) {
                /* A circular list is allowed when another list is finite. */
                if (!PAIR_P(s))
                    type_error(who, "a list", s);
                continue;
            }
            len = (size_t)n;
        } else if (kind == 'v') {
            if (!VECTOR_P(s))
                type_error(who, "a vector", s);
            len = VLEN(s);
        } else {
            if (!STRING_P(s))
                type_error(who, "a string", s);
            len = STRING_LEN(s);
        }
        if (len < limit)
            limit = len;
    }
    if (limit == SIZE_MAX)
        scm_error(who, NIL); /* every list circular */
    size_t base = vsp;
    vs_push(NIL); /* result head (lists) */
    vs_push(NIL); /* last pair */
    for (int i = 0; i < nseq; i++)
        vs_push(vs[abase + 1 + (size_t)i]); /* cursors, for lists */
    for (size_t k = 0; k < limit; k++) {
        vs_push(vs[abase]);
        for (int i = 0; i < nseq; i++) {
            value s = vs[base + 2 + (size_t)i];
            if (kind == 'l') {
                vs_push(CAR(s));
                vs[base + 2 + (size_t)i] = CDR(s);
            } else if (kind == 'v') {
                vs_push(VREF(s, k));
            } else {
                vs_push(MAKE_CHAR(STRING_CHARS(s)[k]));
            }
        }
        value r = apply_on_stack(nseq);
        if (!collect)
            continue;
        if (kind == 's' && !CHAR_P(r))
            type_error(who, "a procedure returning characters", r);
        value p = cons(r, NIL);
        if (vs[base] == NIL)
            vs[base] = p;
        else
            SET(vs[base + 1], CDR(vs[base + 1]), p);
        vs[base + 1] = p;
    }
    value result = vs[base];
    vsp = base;
    if (!collect)
        return UNSPEC;
    if (kind == 'l')
        return result;
    vs_push(result);
    value out;
    if (kind == 'v') {
        out = make_vector(limit, UNASSIGNED);
        size_t i = 0;
        for (value l = vs[vsp - 1]; PAIR_P(l); l = CDR(l))
            SET(out, VREF(out, i++), CAR(l));
    } else {
        out = make_string_filled(limit, 0);
        size_t i = 0;
        for (value l = vs[vsp - 1]; PAIR_P(l); l = CDR(l))
            STRING_CHARS(out)[i++] = CHAR_CODE(CAR(l));
    }
    vsp--;
    return out;
}

static value p_map(int argc, value *argv)
{
    return map_generic("map", argc, argv, 'l', true);
}
static value p_for_each(int argc, value *argv)
{
    return map_generic("for-each", argc, argv, 'l', false);
}
static value p_vector_map(int argc, value *argv)
{
    return map_generic("vector-map", argc, argv, 'v', true);
}
static value p_vector_for_each(int argc, value *argv)
{
    return map_generic("vector-for-each", argc, argv, 'v', false);
}
static value p_string_map(int argc, value *argv)
{
    return map_generic("string-map", argc, argv, 's', true);
}
static value p_string_for_each(int argc, value *argv)
{
    return map_generic("string-for-each", argc, argv, 's', false);
}

static value p_values(int argc, value *argv)
{
    if (argc == 1)
        return argv[0];
    value v = alloc_object(T_VALUES, (size_t)argc, (size_t)argc);
    for (int i = 0; i < argc; i++)
        SET(v, VREF(v, i), argv[i]);
    return v;
}

static value p_call_with_values(int argc, value *argv)
{
    (void)argc;
    check_procedure("call-with-values", argv[0]);
    check_procedure("call-with-values", argv[1]);
    size_t abase = (size_t)(argv - vs);
    value v = apply0(argv[0]);
    size_t fbase = vsp;
    vs_push(vs[abase + 1]);
    if (IS(v, T_VALUES)) {
        vs_push(v);
        size_t n = VLEN(v);
        for (size_t i = 0; i < n; i++)
            vs_push(VREF(vs[fbase + 1], i));
        /* drop the values object from under the arguments */
        memmove(&vs[fbase + 1], &vs[fbase + 2], n * sizeof(value));
        vsp--;
        return apply_on_stack((int)n);
    }
    vs_push(v);
    return apply_on_stack(1);
}

static value p_dynamic_wind(int argc, value *argv)
{
    (void)argc;
    for (int i = 0; i < 3; i++)
        check_procedure("dynamic-wind", argv[i]);
    return dynamic_wind(argv[0], argv[1], argv[2]);
}

static value p_call_cc(int argc, value *argv)
{
    (void)argc;
    check_procedure("call-with-current-continuation", argv[0]);
    return call_with_escape_continuation(argv[0]);
}

static value p_with_exception_handler(int argc, value *argv)
{
    (void)argc;
    check_procedure("with-exception-handler", argv[0]);
    check_procedure("with-exception-handler", argv[1]);
    size_t abase = (size_t)(argv - vs);
    vs_push(runtime_roots[ROOT_HANDLERS]);
    runtime_roots[ROOT_HANDLERS] = cons(vs[abase], runtime_roots[ROOT_HANDLERS]);
    value r = apply0(vs[abase + 1]);
    runtime_roots[ROOT_HANDLERS] = vs[--vsp];
    return r;
}

static value p_raise(int argc, value *argv)
{
    (void)argc;
    scm_raise(argv[0]);
}

static value p_raise_continuable(int argc, value *argv)
{
    (void)argc;
    return scm_raise_continuable(argv[0]);
}

static value p_error(int argc, value *argv)
{
    size_t abase = (size_t)(argv - vs);
    value irritants = list_from_stack(abase + 1, (size_t)argc - 1, NIL);
    vs_push(irritants);
    value msg = vs[abase];
    char cmsg[512];
    if (STRING_P(msg)) {
        /* The message's first characters, as UTF-8 (whole characters only). */
        size_t n = 0;
        for (size_t i = 0; i < STRING_LEN(msg) && n + UTF8_MAX < sizeof cmsg; i++)
            n += utf8_encode(STRING_CHARS(msg)[i], cmsg + n);
        cmsg[n] = 0;
    } else if (SYMBOL_P(msg)) {
        snprintf(cmsg, sizeof cmsg, "%s:", SYM(msg)->name);
    } else {
        snprintf(cmsg, sizeof cmsg, "%s", "error");
    }
    value e = make_error("error", cmsg, vs[vsp - 1]);
    if (STRING_P(vs[abase]))
        SET(e, ERR_MESSAGE(e), vs[abase]); /* the very string given */
    vsp--;
    scm_raise(e);
}

static value p_error_object_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_ERROR));
}

static value p_error_object_message(int argc, value *argv)
{
    (void)argc;
    if (!IS(argv[0], T_ERROR))
        type_error("error-object-message", "an error object", argv[0]);
    return ERR_MESSAGE(argv[0]);
}

static value p_error_object_irritants(int argc, value *argv)
{
    (void)argc;
    if (!IS(argv[0], T_ERROR))
        type_error("error-object-irritants", "an error object", argv[0]);
    return ERR_IRRITANTS(argv[0]);
}

static value p_read_error_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_ERROR) && ERR_KIND(argv[0]) == intern_c("read"));
}

static value p_file_error_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_ERROR) && ERR_KIND(argv[0]) == intern_c("file"));
}

/* ---- Promises: [hdr(1 for delay-force) | done | value or thunk] ---- */

static value p_force(int argc, value *argv)
{
    (void)argc;
    if (!IS(argv[0], T_PROMISE))
        return argv[0];
    size_t slot = (size_t)(argv - vs);
    while (OBJ(vs[slot])[1] == FALSE_V) {
        value r = apply0(OBJ(vs[slot])[2]);
        value p = vs[slot];
        if (OBJ(p)[1] != FALSE_V)
            break; /* forced while running the thunk */
        if (HDR_LEN(p) == 1 && IS(r, T_PROMISE)) {
            /* delay-force: take over the other promise's state, iteratively */
            HDR(p) = HDR(r);
            OBJ(p)[1] = OBJ(r)[1];
            SET(p, OBJ(p)[2], OBJ(r)[2]);
        } else {
            OBJ(p)[1] = TRUE_V;
            SET(p, OBJ(p)[2], r);
        }
    }
    return OBJ(vs[slot])[2];
}

static value p_make_promise(int argc, value *argv)
{
    (void)argc;
    if (IS(argv[0], T_PROMISE))
        return argv[0];
    value p = alloc_object(T_PROMISE, 0, 2);
    OBJ(p)[1] = TRUE_V;
    SET(p, OBJ(p)[2], argv[0]);
    return p;
}

static value p_promise_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_PROMISE));
}

/* ---- Records ---- */

static value p_make_record_type(int argc, value *argv)
{
    (void)argc;
    long n = list_length(argv[1]);
    value t = alloc_object(T_RECORD_TYPE, 0, 3);
    OBJ(t)[1] = argv[0];
    SET(t, OBJ(t)[2], argv[1]);
    OBJ(t)[3] = MAKE_FIX(n < 0 ? 0 : n);
    return t;
}

static value record_proc(int kind, value rtd, value index, value name)
{
    vs_push(rtd);
    vs_push(index);
    value p = alloc_object(T_RECORD_PROC, (size_t)kind, 3);
    SET(p, OBJ(p)[1], vs[vsp - 2]);
    SET(p, OBJ(p)[2], vs[vsp - 1]);
    OBJ(p)[3] = name;
    vsp -= 2;
    return p;
}

static void check_rtd(value v)
{
    if (!IS(v, T_RECORD_TYPE))
        type_error("define-record-type", "a record type", v);
}

/* Field position of `name` in the type's field specs; -1 if absent. */
static long field_index(value rtd, value name)
{
    long i = 0;
    for (value f = OBJ(rtd)[2]; PAIR_P(f); f = CDR(f), i++) {
        value spec = CAR(f);
        if ((PAIR_P(spec) ? CAR(spec) : spec) == name)
            return i;
    }
    return -1;
}

static value p_record_constructor(int argc, value *argv)
{
    (void)argc;
    check_rtd(argv[0]);
    value fields = argv[1];
    size_t slot = (size_t)(argv - vs);
    long n = fields == TRUE_V ? FIX(OBJ(argv[0])[3]) : list_length(fields);
    if (n < 0)
        scm_error1("define-record-type: bad constructor field list", fields);
    value map = make_vector((size_t)n, UNASSIGNED);
    value rtd = vs[slot];
    fields = vs[slot + 1];
    for (long i = 0; i < n; i++) {
        long idx = i;
        if (fields != TRUE_V) {
            idx = field_index(rtd, CAR(fields));
            if (idx < 0)
                scm_error1("define-record-type: the constructor names an unknown field",
                           CAR(fields));
            fields = CDR(fields);
        }
        VREF(map, i) = MAKE_FIX(idx);
    }
    return record_proc(RP_CONSTRUCTOR, vs[slot], map, vs[slot + 2]);
}

static value p_record_predicate(int argc, value *argv)
{
    (void)argc;
    check_rtd(argv[0]);
    return record_proc(RP_PREDICATE, argv[0], FALSE_V, argv[1]);
}

static value p_record_accessor(int argc, value *argv)
{
    (void)argc;
    check_rtd(argv[0]);
    return record_proc(RP_ACCESSOR, argv[0], argv[1], argv[2]);
}

static value p_record_modifier(int argc, value *argv)
{
    (void)argc;
    check_rtd(argv[0]);
    return record_proc(RP_MODIFIER, argv[0], argv[1], argv[2]);
}

static value p_make_parameter(int argc, value *argv)
{
    size_t slot = (size_t)(argv - vs);
    value v = argv[0];
    if (argc > 1)
        v = apply1(argv[1], argv[0]);
    vs_push(v);
    value p = alloc_object(T_PARAMETER, 0, 2);
    SET(p, OBJ(p)[1], vs[--vsp]);
    SET(p, OBJ(p)[2], argc > 1 ? vs[slot + 1] : FALSE_V);
    return p;
}

void prims_control_init(void)
{
    define_primitive("procedure?", p_procedure_p, 1, 1);
    PRIM(define_primitive("apply", p_apply_unused, 1, -1))->special = PRIM_APPLY;
    define_primitive("map", p_map, 2, -1);
    define_primitive("for-each", p_for_each, 2, -1);
    define_primitive("vector-map", p_vector_map, 2, -1);
    define_primitive("vector-for-each", p_vector_for_each, 2, -1);
    define_primitive("string-map", p_string_map, 2, -1);
    define_primitive("string-for-each", p_string_for_each, 2, -1);
    define_primitive("values", p_values, 0, -1);
    define_primitive("call-with-values", p_call_with_values, 2, 2);
    define_primitive("dynamic-wind", p_dynamic_wind, 3, 3);
    define_primitive("call-with-current-continuation", p_call_cc, 1, 1);
    define_primitive("call/cc", p_call_cc, 1, 1);
    define_primitive("with-exception-handler", p_with_exception_handler, 2, 2);
    define_primitive("raise", p_raise, 1, 1);
    define_primitive("raise-continuable", p_raise_continuable, 1, 1);
    define_primitive("error", p_error, 1, -1);
    define_primitive("error-object?", p_error_object_p, 1, 1);
    define_primitive("error-object-message", p_error_object_message, 1, 1);
    define_primitive("error-object-irritants", p_error_object_irritants, 1, 1);
    define_primitive("read-error?", p_read_error_p, 1, 1);
    define_primitive("file-error?", p_file_error_p, 1, 1);
    define_primitive("force", p_force, 1, 1);
    define_primitive("make-promise", p_make_promise, 1, 1);
    define_primitive("promise?", p_promise_p, 1, 1);
    define_primitive("make-parameter", p_make_parameter, 1, 2);
    define_primitive("%make-record-type", p_make_record_type, 2, 2);
    define_primitive("%record-constructor", p_record_constructor, 3, 3);
    define_primitive("%record-predicate", p_record_predicate, 2, 2);
    define_primitive("%record-accessor", p_record_accessor, 3, 3);
    define_primitive("%record-modifier", p_record_modifier, 3, 3);
}
