/* The evaluator: walks compiled code (code.h) over frames in the heap, with proper tail
 * calls (a call in tail position replaces the current node and frame instead of
 * recursing), exceptions (raise, handlers, guard), dynamic-wind, and escape-only
 * continuations, all built on one stack of catch frames (setjmp points).
 *
 * GC discipline: eval keeps its frame in the value stack slot vs[base] and reads it back
 * after anything that may allocate; intermediate values go on the value stack. */
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"

SCM_THREAD_LOCAL uint64_t current_location;

/* ---- The C stack limit (deep recursion is an error, not a crash) ---- */

static SCM_THREAD_LOCAL char *stack_soft_limit, *stack_hard_limit, *stack_active_limit;
static SCM_THREAD_LOCAL size_t stack_size_bytes;

void eval_init(size_t stack_bytes)
{
    /* The interpreter thread's stack: its top is near this frame. */
    uintptr_t top = (uintptr_t)__builtin_frame_address(0);
    stack_size_bytes = stack_bytes;
    size_t margin = stack_bytes / 16 > (4u << 20) ? (4u << 20) : stack_bytes / 16;
    stack_hard_limit = (char *)(top - stack_bytes + margin / 2);
    stack_soft_limit = (char *)(top - stack_bytes + margin);
    stack_active_limit = stack_soft_limit;
}

void stack_check_reset(void)
{
    extern void vs_overflow_reset(void);
    vs_overflow_reset();
    /* The handlers' room is taken back once the stack has unwound well clear of the soft
     * limit: a quarter of the stack, at most 1 MiB (a small --stack has less than that
     * above the limit, and would otherwise never get its room back). */
    size_t clear = stack_size_bytes / 4 < (1u << 20) ? stack_size_bytes / 4 : (1u << 20);
    char *here = __builtin_frame_address(0);
    if (here > stack_soft_limit + clear)
        stack_active_limit = stack_soft_limit;
}

__attribute__((noreturn)) static void stack_overflow(void)
{
    if (stack_active_limit == stack_hard_limit) {
        fprintf(stderr, "gcvm-scheme: stack overflow while handling a stack overflow\n");
        exit(70);
    }
    stack_active_limit = stack_hard_limit; /* room for the handlers */
    char msg[160];
    snprintf(msg, sizeof msg,
             "recursion too deep: the %zu MiB stack is exhausted (use --stack=SIZE for more)",
             stack_size_bytes >> 20);
    scm_error(msg, NIL);
}

void stack_check(void)
{
    char *here = __builtin_frame_address(0);
    if (__builtin_expect(here < stack_active_limit, 0))
        stack_overflow();
}

/* ---- Catch frames ---- */

enum catch_kind { CATCH_TOPLEVEL, CATCH_GUARD, CATCH_CONTINUATION };

struct catch_frame {
    jmp_buf jb;
    size_t base; /* vs[base] = handler list, vs[base+1] = wind list at entry */
    uint64_t serial;
    int kind;
};

static SCM_THREAD_LOCAL struct catch_frame *catches;
static SCM_THREAD_LOCAL size_t ncatch, catch_cap;
static SCM_THREAD_LOCAL uint64_t catch_serial;
static SCM_THREAD_LOCAL value caught; /* what the jump carries, valid just after landing */
#define HANDLERS runtime_roots[ROOT_HANDLERS]
#define WINDS runtime_roots[ROOT_WINDS]

/* Pushes a catch frame recording the handler and wind lists; returns its index. */
static size_t catch_push(int kind)
{
    if (ncatch == catch_cap) {
        size_t cap = catch_cap ? catch_cap * 2 : 64;
        struct catch_frame *c = realloc(catches, cap * sizeof *c);
        if (!c)
            scm_error("out of memory for exception handlers", NIL);
        catches = c;
        catch_cap = cap;
    }
    size_t base = vsp;
    vs_push(HANDLERS);
    vs_push(WINDS);
    struct catch_frame *f = &catches[ncatch];
    f->base = base;
    f->serial = ++catch_serial;
    f->kind = kind;
    return ncatch++;
}

void eval_thread_finish(void)
{
    free(catches);
    catches = NULL;
    ncatch = catch_cap = 0;
}

/* After landing in (or leaving normally) catch frame ci: restores its lists and stack. */
static void catch_leave(size_t ci)
{
    size_t base = catches[ci].base;
    HANDLERS = vs[base];
    WINDS = vs[base + 1];
    vsp = base;
    ncatch = ci;
}

/* Runs the after thunks of the dynamic-winds entered since `target` was the wind list. */
/* A parameterize's wind entry has, in place of an after thunk, a one-value T_VALUES
 * holding the thread's parameter bindings to put back. */
#define PARAMS runtime_roots[ROOT_PARAMS]
static void restore_parameters(value saved)
{
    PARAMS = VREF(saved, 0);
}

static void unwind_to(value target)
{
    while (WINDS != target && PAIR_P(WINDS)) {
        value entry = CAR(WINDS);
        WINDS = CDR(WINDS);
        if (IS(CDR(entry), T_VALUES))
            restore_parameters(CDR(entry));
        else
            apply0(CDR(entry));
    }
}

__attribute__((noreturn)) static void escape_to(size_t ci, value payload)
{
    vs_push(payload);
    HANDLERS = vs[catches[ci].base];
    unwind_to(vs[catches[ci].base + 1]);
    caught = vs[--vsp];
    longjmp(catches[ci].jb, 1);
}

/* ---- Errors ---- */

static value raise_impl(value obj, int continuable)
{
    value hs = HANDLERS;
    if (hs == NIL) {
        /* No handler: the innermost top-level catch reports it. */
        size_t ci = ncatch;
        while (ci-- > 0)
            if (catches[ci].kind == CATCH_TOPLEVEL)
                escape_to(ci, obj);
        print_condition(obj);
        exit(70);
    }
    value h = CAR(hs);
    if (FIXNUM_P(h))
        escape_to((size_t)FIX(h), obj); /* a guard */
    vs_push(obj);
    vs_push(hs);
    HANDLERS = CDR(hs);
    vs_push(h);
    vs_push(obj);
    value r = apply_on_stack(1);
    HANDLERS = vs[vsp - 1];
    obj = vs[vsp - 2];
    if (continuable) {
        vsp -= 2;
        return r;
    }
    HANDLERS = CDR(HANDLERS);
    value irritants = cons(obj, NIL);
    vsp -= 2;
    scm_raise(make_error("error", "an exception handler returned from a non-continuable raise",
                         irritants));
}

void scm_raise(value obj)
{
    raise_impl(obj, 0);
    abort(); /* not reached */
}

value scm_raise_continuable(value obj)
{
    return raise_impl(obj, 1);
}

void scm_error(const char *msg, value irritants)
{
    scm_raise(make_error("error", msg, irritants));
}

void scm_error1(const char *msg, value irritant)
{
    scm_error(msg, cons(irritant, NIL));
}

void type_error(const char *who, const char *expected, value got)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s: expected %s, got", who, expected);
    scm_error1(msg, got);
}

static const char *procedure_name(value proc)
{
    if (IS(proc, T_PRIMITIVE))
        return PRIM(proc)->name;
    if (CLOSURE_P(proc) && SYMBOL_P(CLOSURE_LAMBDA(proc)->lam->name))
        return SYM(CLOSURE_LAMBDA(proc)->lam->name)->name;
    return "#<procedure>";
}

void arity_error(value proc, int argc)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s: wrong number of arguments (%d given)", procedure_name(proc),
             argc);
    scm_error(msg, NIL);
}

void print_condition(value c)
{
    flush_standard_ports();
    char where[300] = "";
    uint64_t loc = current_location;
    if (IS(c, T_ERROR) && FIXNUM_P(ERR_LOCATION(c)))
        loc = (uint64_t)FIX(ERR_LOCATION(c));
    format_location(loc, where, sizeof where);
    vs_push(c);
    value port = runtime_roots[ROOT_STDERR];
    if (where[0]) {
        port_puts(port, where);
        port_puts(port, ": ");
    }
    c = vs[vsp - 1];
    if (IS(c, T_ERROR)) {
        port_puts(port, "error: ");
        c = vs[vsp - 1];
        write_value(port, ERR_MESSAGE(c), 1);
        for (value l = ERR_IRRITANTS(vs[vsp - 1]); PAIR_P(l); l = CDR(l)) {
            vs_push(l);
            port_puts(port, " ");
            write_value(port, CAR(vs[vsp - 1]), 0);
            l = vs[--vsp];
        }
    } else {
        port_puts(port, "error: uncaught exception: ");
        write_value(port, vs[vsp - 1], 0);
    }
    port_puts(port, "\n");
    port_flush(port);
    vsp--;
}

static SCM_THREAD_LOCAL int exit_code = -1;
int scm_error_output_suppressed;

void scm_exit(int code)
{
    exit_code = code;
    for (size_t ci = 0; ci < ncatch; ci++)
        if (catches[ci].kind == CATCH_TOPLEVEL)
            escape_to(ci, UNSPEC); /* runs the pending dynamic-wind after thunks */
    flush_standard_ports();
    exit(code);
}

int scm_exit_requested(void)
{
    return exit_code;
}

static int run_catching(void (*fn)(void *), void *arg, int keep)
{
    size_t ci = catch_push(CATCH_TOPLEVEL);
    HANDLERS = NIL;
    if (setjmp(catches[ci].jb) == 0) {
        fn(arg);
        catch_leave(ci);
        return 0;
    }
    catch_leave(ci);
    stack_check_reset();
    if (exit_code >= 0)
        return 2;
    if (keep) {
        vs_push(caught);
        return 1;
    }
    if (!scm_error_output_suppressed) {
        vs_push(caught);
        print_condition(vs[vsp - 1]);
        vsp--;
    }
    return 1;
}

int run_protected(void (*fn)(void *), void *arg)
{
    return run_catching(fn, arg, 0);
}

int run_protected_keep(void (*fn)(void *), void *arg)
{
    return run_catching(fn, arg, 1);
}

/* ---- Application ---- */

/* Makes the frame for applying the closure at vs[fbase] to the argc values above it. */
static value make_frame(size_t fbase, int argc)
{
    struct lambda *lam = CLOSURE_LAMBDA(vs[fbase])->lam;
    int nreq = lam->nreq;
    if (argc != nreq && (argc < nreq || !lam->rest))
        arity_error(vs[fbase], argc);
    if (lam->rest) {
        value rest = list_from_stack(fbase + 1 + nreq, (size_t)(argc - nreq), NIL);
        vsp = fbase + 1 + nreq;
        vs_push(rest);
        argc = nreq + 1;
    }
    size_t size = (size_t)lam->frame_size;
    value frame = alloc_object(T_FRAME, size, size + 1);
    value *args = &vs[fbase + 1];
    FRAME_PARENT(frame) = CLOSURE_ENV(vs[fbase]);
    if (size + 2 <= GC_NURSERY_MAX_OBJECT / sizeof(value) - 2) {
        /* A small fresh object is in the nursery (with Boehm the barrier does nothing
         * anyway): plain stores. */
        for (int i = 0; i < argc; i++)
            FRAME_SLOT(frame, i) = args[i];
    } else {
        gc_write_barrier(scm_mut, &FRAME_PARENT(frame));
        for (int i = 0; i < argc; i++)
            SET(frame, FRAME_SLOT(frame, i), args[i]);
    }
    return frame;
}

static value make_closure(struct node *lambda_node, value env)
{
    if (!scm_use_boehm) {
        value *p = gc_alloc_nocollect(scm_mut, T_CLOSURE, 2 * sizeof(value), 0);
        if (p) {
            p[0] = MAKE_HDR(T_CLOSURE, 0);
            p[1] = (value)lambda_node;
            p[2] = env;
            return (value)p;
        }
    }
    vs_push(env);
    value c = alloc_object(T_CLOSURE, 0, 2);
    OBJ(c)[1] = (value)lambda_node;
    SET(c, CLOSURE_ENV(c), vs[--vsp]);
    return c;
}

static value make_values_from_stack(size_t base, int n)
{
    value v = alloc_object(T_VALUES, (size_t)n, (size_t)n);
    for (int i = 0; i < n; i++)
        SET(v, VREF(v, i), vs[base + i]);
    return v;
}

static value apply_record_proc(value proc, int argc, value *argv);

/* Replaces the case-lambda at vs[fbase] by its first clause that takes argc arguments. */
static void select_case_lambda(size_t fbase, int argc)
{
    value cl = vs[fbase];
    for (size_t i = 0; i < VLEN(cl); i++) {
        struct lambda *lam = CLOSURE_LAMBDA(VREF(cl, i))->lam;
        if (argc == lam->nreq || (lam->rest && argc > lam->nreq)) {
            vs[fbase] = VREF(cl, i);
            return;
        }
    }
    char msg[120];
    snprintf(msg, sizeof msg, "case-lambda: no clause takes %d arguments", argc);
    scm_error(msg, NIL);
}

/* Applies what is not a closure or an ordinary primitive. */
static value apply_other(size_t fbase, int argc)
{
    value f = vs[fbase];
    if (IS(f, T_CONTINUATION)) {
        size_t ci = (size_t)FIX(OBJ(f)[1]);
        if (ci >= ncatch || catches[ci].serial != (uint64_t)FIX(OBJ(f)[2]))
            scm_error("this continuation can no longer be called (only escaping continuations "
                      "are supported)",
                      NIL);
        value payload = argc == 1 ? vs[fbase + 1] : make_values_from_stack(fbase + 1, argc);
        escape_to(ci, payload);
    }
    if (IS(f, T_RECORD_PROC))
        return apply_record_proc(f, argc, &vs[fbase + 1]);
    if (IS(f, T_PARAMETER)) {
        if (argc != 0)
            arity_error(f, argc);
        /* The innermost parameterize of this thread that binds it, else its value. */
        for (value b = PARAMS; PAIR_P(b); b = CDR(b))
            if (CAR(CAR(b)) == f)
                return CDR(CAR(b));
        return OBJ(f)[1];
    }
    if (IS(f, T_GUARDIAN)) { /* (g obj) registers obj; (g) takes out a dead one, or #f */
        if (argc > 1)
            arity_error(f, argc);
        if (argc == 0)
            return guardian_next(f);
        guardian_register(f, vs[fbase + 1]);
        return UNSPEC;
    }
    scm_error1("not a procedure", f);
}

static inline value call_primitive(value f, int argc, value *argv)
{
    struct primitive *p = PRIM(f);
    if (__builtin_expect(argc < p->min_args || (p->max_args >= 0 && argc > p->max_args), 0))
        arity_error(f, argc);
    return p->fn(argc, argv);
}

/* (apply f a ... list): spreads the list onto the stack in place of the call. Returns the
 * new argument count, with f at vs[fbase]. */
static int spread_apply(size_t fbase, int argc)
{
    if (argc < 1)
        arity_error(vs[fbase], argc);
    value last = vs[fbase + (size_t)argc];
    long n = list_length(last);
    if (n < 0)
        type_error("apply", "a proper list as the last argument", last);
    /* Shift f and the leading arguments down over the apply primitive. */
    for (int i = 0; i < argc - 1; i++)
        vs[fbase + (size_t)i] = vs[fbase + 1 + (size_t)i];
    vsp = fbase + (size_t)argc - 1;
    for (value l = last; PAIR_P(l); l = CDR(l))
        vs_push(CAR(l));
    return (int)(vsp - fbase - 1);
}

value apply_on_stack(int argc)
{
    size_t fbase = vsp - (size_t)argc - 1;
    for (;;) {
        value f = vs[fbase];
        if (CLOSURE_P(f)) {
            value frame = make_frame(fbase, argc);
            struct node *body = CLOSURE_LAMBDA(vs[fbase])->lam->body;
            vsp = fbase;
            return eval(body, frame);
        }
        if (IS(f, T_PRIMITIVE)) {
            if (PRIM(f)->special == PRIM_APPLY) {
                argc = spread_apply(fbase, argc);
                continue;
            }
            value r = call_primitive(f, argc, &vs[fbase + 1]);
            vsp = fbase;
            return r;
        }
        if (IS(f, T_CASE_LAMBDA)) {
            select_case_lambda(fbase, argc);
            continue;
        }
        value r = apply_other(fbase, argc);
        vsp = fbase;
        return r;
    }
}

value apply0(value f)
{
    vs_push(f);
    return apply_on_stack(0);
}

value apply1(value f, value a)
{
    vs_push(f);
    vs_push(a);
    return apply_on_stack(1);
}

/* ---- Records ---- */

static value apply_record_proc(value proc, int argc, value *argv)
{
    value rtd = OBJ(proc)[1];
    int kind = (int)HDR_LEN(proc);
    const char *name = SYMBOL_P(OBJ(proc)[3]) ? SYM(OBJ(proc)[3])->name : "record procedure";
    switch (kind) {
    case RP_CONSTRUCTOR: {
        value map = OBJ(proc)[2];
        if ((size_t)argc != VLEN(map))
            arity_error(proc, argc);
        size_t nfields = (size_t)FIX(OBJ(rtd)[3]);
        size_t argbase = (size_t)(argv - vs);
        value r = alloc_object(T_RECORD, nfields, nfields + 1);
        proc = vs[argbase - 1];
        map = OBJ(proc)[2];
        SET(r, RECORD_TYPE_OF(r), OBJ(proc)[1]);
        for (int i = 0; i < argc; i++)
            SET(r, RECORD_FIELD(r, FIX(VREF(map, i))), vs[argbase + (size_t)i]);
        return r;
    }
    case RP_PREDICATE:
        if (argc != 1)
            arity_error(proc, argc);
        return BOOL(IS(argv[0], T_RECORD) && RECORD_TYPE_OF(argv[0]) == rtd);
    case RP_ACCESSOR:
    case RP_MODIFIER: {
        if (argc != (kind == RP_ACCESSOR ? 1 : 2))
            arity_error(proc, argc);
        if (!IS(argv[0], T_RECORD) || RECORD_TYPE_OF(argv[0]) != rtd) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s: expected a record of type %s, got", name,
                     SYM(OBJ(rtd)[1])->name);
            scm_error1(msg, argv[0]);
        }
        intptr_t i = FIX(OBJ(proc)[2]);
        if (kind == RP_ACCESSOR)
            return RECORD_FIELD(argv[0], i);
        SET(argv[0], RECORD_FIELD(argv[0], i), argv[1]);
        return UNSPEC;
    }
    }
    return UNSPEC;
}

/* ---- call/cc and guard ---- */

value call_with_escape_continuation(value f)
{
    vs_push(f);
    size_t fslot = vsp - 1;
    size_t ci = catch_push(CATCH_CONTINUATION);
    value k = alloc_object(T_CONTINUATION, 0, 2);
    OBJ(k)[1] = MAKE_FIX(ci);
    OBJ(k)[2] = MAKE_FIX(catches[ci].serial);
    if (setjmp(catches[ci].jb) == 0) {
        vs_push(vs[fslot]);
        vs_push(k);
        value r = apply_on_stack(1);
        catch_leave(ci);
        vsp = fslot;
        return r;
    }
    catch_leave(ci);
    vsp = fslot;
    stack_check_reset();
    return caught;
}

/* Evaluates a guard's body under a catch frame. Returns 1 with the body's value, or 0
 * with the raised condition (the handler clauses then run in the caller). */
static __attribute__((noinline)) int guard_body(struct node *body, size_t env_slot, value *out)
{
    size_t ci = catch_push(CATCH_GUARD);
    HANDLERS = cons(MAKE_FIX(ci), HANDLERS);
    if (setjmp(catches[ci].jb) == 0) {
        value v = eval(body, vs[env_slot]);
        catch_leave(ci);
        *out = v;
        return 1;
    }
    catch_leave(ci);
    stack_check_reset();
    *out = caught;
    return 0;
}

value dynamic_wind(value before, value thunk, value after)
{
    size_t base = vsp;
    vs_push(before);
    vs_push(thunk);
    vs_push(after);
    apply0(vs[base]);
    value entry = cons(vs[base], vs[base + 2]);
    WINDS = cons(entry, WINDS);
    value r = apply0(vs[base + 1]);
    WINDS = CDR(WINDS);
    vs_push(r);
    apply0(vs[base + 2]);
    r = vs[--vsp];
    vsp = base;
    return r;
}

/* ---- Binding multiple values ---- */

/* Stores the values v (one value or a T_VALUES) into dest[0..] by formals (nreq, rest);
 * dest is a frame's slots or NULL (then each goes to stack). */
static void bind_values(value v, int nreq, int rest, value frame, int first_slot)
{
    int n = IS(v, T_VALUES) ? (int)VLEN(v) : 1;
    if (n < nreq || (!rest && n > nreq)) {
        char msg[160];
        snprintf(msg, sizeof msg, "expected %d%s values, got %d", nreq, rest ? " or more" : "", n);
        scm_error(msg, NIL);
    }
    size_t base = vsp;
    vs_push(v);
    vs_push(frame);
    if (rest) {
        value l = NIL;
        vs_push(l);
        for (int i = n; i-- > nreq;)
            vs[base + 2] = cons(VREF(vs[base], i), vs[base + 2]);
    }
    v = vs[base];
    frame = vs[base + 1];
    for (int i = 0; i < nreq; i++)
        SET(frame, FRAME_SLOT(frame, first_slot + i), IS(v, T_VALUES) ? VREF(v, i) : v);
    if (rest)
        SET(frame, FRAME_SLOT(frame, first_slot + nreq), vs[base + 2]);
    vsp = base;
}

static value new_frame(size_t size, value parent)
{
    vs_push(parent);
    value f = alloc_object(T_FRAME, size, size + 1);
    SET(f, FRAME_PARENT(f), vs[--vsp]);
    return f;
}

/* ---- The evaluator ---- */

__attribute__((noreturn)) static void unbound(struct node *n)
{
    current_location = n->loc ? n->loc : current_location;
    scm_error1(n->op == N_GLOBAL || n->op == N_SET_GLOBAL ? "unbound variable"
                                                          : "variable used before its definition",
               n->k);
}

static inline value local_frame(value env, int depth)
{
    while (depth-- > 0)
        env = FRAME_PARENT(env);
    return env;
}

/* Evaluates a node that needs no recursion (constants and variables) without a call. */
static inline value eval_leaf(struct node *x, value env)
{
    value v;
    switch (x->op) {
    case N_CONST: return x->k;
    case N_LOCAL0: v = FRAME_SLOT(env, x->index); break;
    case N_LOCAL1: v = FRAME_SLOT(FRAME_PARENT(env), x->index); break;
    case N_LOCAL: v = FRAME_SLOT(local_frame(env, x->depth), x->index); break;
    case N_GLOBAL: v = SYM(x->k)->global; break;
    default: return eval(x, env);
    }
    if (__builtin_expect(v == UNASSIGNED, 0))
        unbound(x);
    return v;
}

value eval(struct node *n, value env)
{
    stack_check();
    size_t base = vsp;
    vs_push(env);
#define ENV (vs[base])
    value result;
    for (;;) {
        switch (n->op) {
        case N_CONST:
        case N_LOCAL0:
        case N_LOCAL1:
        case N_LOCAL:
        case N_GLOBAL: result = eval_leaf(n, ENV); goto done;
        case N_UNSPEC: result = UNSPEC; goto done;
        case N_SET_LOCAL: {
            value v = eval_leaf(n->a, ENV);
            value f = local_frame(ENV, n->depth);
            SET(f, FRAME_SLOT(f, n->index), v);
            result = UNSPEC;
            goto done;
        }
        case N_SET_GLOBAL:
        case N_DEFINE_GLOBAL: {
            value v = eval_leaf(n->a, ENV);
            if (n->op == N_SET_GLOBAL && SYM(n->k)->global == UNASSIGNED)
                unbound(n);
            symbol_set_global(n->k, v);
            result = n->op == N_DEFINE_GLOBAL ? n->k : UNSPEC;
            goto done;
        }
        case N_IF: n = eval_leaf(n->a, ENV) != FALSE_V ? n->b : n->c; continue;
        case N_SEQ: {
            int last = n->nkids - 1;
            for (int i = 0; i < last; i++)
                eval(n->kids[i], ENV);
            n = n->kids[last];
            continue;
        }
        case N_AND:
        case N_OR: {
            int last = n->nkids - 1;
            int i;
            for (i = 0; i < last; i++) {
                value v = eval_leaf(n->kids[i], ENV);
                if ((v == FALSE_V) == (n->op == N_AND)) {
                    result = v;
                    goto done;
                }
            }
            n = n->kids[last];
            continue;
        }
        case N_LAMBDA: result = make_closure(n, ENV); goto done;
        case N_CALL: {
            size_t fbase = vsp;
            vs_push(eval_leaf(n->a, ENV));
            int argc = n->nkids;
            for (int i = 0; i < argc; i++)
                vs_push(eval_leaf(n->kids[i], ENV));
            current_location = n->loc;
            for (;;) {
                value f = vs[fbase];
                if (CLOSURE_P(f)) {
                    value frame = make_frame(fbase, argc);
                    n = CLOSURE_LAMBDA(vs[fbase])->lam->body;
                    ENV = frame;
                    vsp = base + 1;
                    break;
                }
                if (IS(f, T_PRIMITIVE)) {
                    if (PRIM(f)->special == PRIM_APPLY) {
                        argc = spread_apply(fbase, argc);
                        continue;
                    }
                    result = call_primitive(f, argc, &vs[fbase + 1]);
                    goto done;
                }
                if (IS(f, T_CASE_LAMBDA)) {
                    select_case_lambda(fbase, argc);
                    continue;
                }
                result = apply_other(fbase, argc);
                goto done;
            }
            continue;
        }
        case N_LET: {
            size_t ibase = vsp;
            for (int i = 0; i < n->nkids; i++)
                vs_push(eval_leaf(n->kids[i], ENV));
            value frame = alloc_object(T_FRAME, (size_t)n->index, (size_t)n->index + 1);
            SET(frame, FRAME_PARENT(frame), ENV);
            for (int i = 0; i < n->nkids; i++)
                SET(frame, FRAME_SLOT(frame, i), vs[ibase + (size_t)i]);
            ENV = frame;
            vsp = base + 1;
            n = n->a;
            continue;
        }
        case N_LETREC: {
            ENV = new_frame((size_t)n->index, ENV);
            for (int i = 0; i < n->nkids; i++) {
                value v = eval_leaf(n->kids[i], ENV);
                SET(ENV, FRAME_SLOT(ENV, i), v);
            }
            n = n->a;
            continue;
        }
        case N_NAMED_LET: {
            size_t fbase = vsp;
            vs_push(UNSPEC); /* the loop closure goes here */
            int argc = n->nkids;
            for (int i = 0; i < argc; i++)
                vs_push(eval_leaf(n->kids[i], ENV));
            value loop_frame = new_frame(1, ENV);
            vs_push(loop_frame);
            value c = make_closure(n->a, loop_frame);
            loop_frame = vs[--vsp];
            SET(loop_frame, FRAME_SLOT(loop_frame, 0), c);
            vs[fbase] = c;
            value frame = make_frame(fbase, argc);
            n = n->lam->body;
            ENV = frame;
            vsp = base + 1;
            continue;
        }
        case N_COND_ARROW: {
            value t = eval_leaf(n->a, ENV);
            if (t == FALSE_V) {
                if (!n->c) {
                    result = UNSPEC;
                    goto done;
                }
                n = n->c;
                continue;
            }
            vs_push(t);
            value f = eval_leaf(n->b, ENV);
            t = vs[--vsp];
            vs_push(f);
            vs_push(t);
            current_location = n->loc;
            result = apply_on_stack(1);
            goto done;
        }
        case N_CASE: {
            value key = eval_leaf(n->a, ENV);
            value clauses = n->k;
            int i;
            for (i = 0; i < n->nkids; i++, clauses = CDR(clauses)) {
                value data = CAR(CAR(clauses));
                if (!PAIR_P(data) && data != NIL)
                    break; /* else */
                bool hit = false;
                for (; PAIR_P(data); data = CDR(data))
                    if (values_eqv(CAR(data), key)) {
                        hit = true;
                        break;
                    }
                if (hit)
                    break;
            }
            if (i == n->nkids) {
                result = UNSPEC;
                goto done;
            }
            if (n->flags[i]) {
                vs_push(key);
                value f = eval_leaf(n->kids[i], ENV);
                key = vs[--vsp];
                vs_push(f);
                vs_push(key);
                current_location = n->loc;
                result = apply_on_stack(1);
                goto done;
            }
            n = n->kids[i];
            continue;
        }
        case N_GUARD: {
            value v;
            if (guard_body(n->a, base, &v)) {
                result = v;
                goto done;
            }
            vs_push(v);
            value frame = new_frame((size_t)n->index, ENV);
            SET(frame, FRAME_SLOT(frame, 0), vs[vsp - 1]);
            ENV = frame;
            vsp = base + 1;
            n = n->b;
            continue;
        }
        case N_BIND_VALUES: {
            value v = eval_leaf(n->a, ENV);
            if (n->depth >= 0) {
                bind_values(v, n->nreq, n->rest, ENV, n->index);
            } else {
                /* Top level: bind into a scratch frame, then define each symbol. */
                vs_push(v);
                value f = new_frame((size_t)n->nreq + (size_t)n->rest, NIL);
                bind_values(vs[vsp - 1], n->nreq, n->rest, f, 0);
                value formals = n->k;
                int i = 0;
                for (; PAIR_P(formals); formals = CDR(formals), i++)
                    symbol_set_global(CAR(formals), FRAME_SLOT(f, i));
                if (SYMBOL_P(formals))
                    symbol_set_global(formals, FRAME_SLOT(f, i));
                vsp--;
            }
            result = UNSPEC;
            goto done;
        }
        case N_LET_VALUES: {
            ENV = new_frame((size_t)n->index, ENV);
            int slot = 0;
            for (int i = 0; i < n->nkids; i++) {
                value v = eval_leaf(n->kids[i], FRAME_PARENT(ENV));
                int nreq = n->flags[i] >> 1, rest = n->flags[i] & 1;
                bind_values(v, nreq, rest, ENV, slot);
                slot += nreq + rest;
            }
            n = n->a;
            continue;
        }
        case N_DELAY: {
            value thunk = make_closure(n->a, ENV);
            vs_push(thunk);
            value p = alloc_object(T_PROMISE, (size_t)n->index, 2);
            OBJ(p)[1] = FALSE_V;
            SET(p, OBJ(p)[2], vs[--vsp]);
            result = p;
            goto done;
        }
        case N_CASE_LAMBDA: {
            value cl = alloc_object(T_CASE_LAMBDA, n->nkids, n->nkids);
            vs_push(cl);
            for (int i = 0; i < n->nkids; i++) {
                value c = make_closure(n->kids[i], ENV);
                SET(vs[vsp - 1], VREF(vs[vsp - 1], i), c);
            }
            result = vs[--vsp];
            goto done;
        }
        case N_PARAMETERIZE: {
            size_t pbase = vsp;
            int count = n->nkids / 2;
            for (int i = 0; i < n->nkids; i++)
                vs_push(eval_leaf(n->kids[i], ENV));
            for (int i = 0; i < count; i++) {
                value p = vs[pbase + 2 * (size_t)i];
                if (!IS(p, T_PARAMETER))
                    type_error("parameterize", "a parameter", p);
                if (OBJ(p)[2] != FALSE_V) {
                    value v = apply1(OBJ(p)[2], vs[pbase + 2 * (size_t)i + 1]);
                    vs[pbase + 2 * (size_t)i + 1] = v;
                }
            }
            /* The thread's bindings grow by the new ones; the old list goes into the wind
             * entry. Other threads keep theirs. */
            value saved = alloc_object(T_VALUES, 1, 1);
            SET(saved, VREF(saved, 0), PARAMS);
            vs_push(saved);
            for (int i = 0; i < count; i++) {
                value b = cons(vs[pbase + 2 * (size_t)i], vs[pbase + 2 * (size_t)i + 1]);
                PARAMS = cons(b, PARAMS);
            }
            value entry = cons(UNSPEC, vs[vsp - 1]);
            WINDS = cons(entry, WINDS);
            value v = eval(n->a, ENV);
            WINDS = CDR(WINDS);
            restore_parameters(vs[vsp - 1]);
            result = v;
            goto done;
        }
        default: fprintf(stderr, "gcvm-scheme: internal error: bad node %d\n", n->op); abort();
        }
    }
done:
    vsp = base;
    return result;
#undef ENV
}

value eval_toplevel(value form)
{
    struct node *n = compile_toplevel(symbols_settle(form));
    return eval(n, NIL);
}
