/* The compiler: a form to a tree of nodes (code.h). It expands the derived forms
 * (let*, named let, do, cond, case, when, unless, quasiquote, define-record-type,
 * let-values, guard, ...) straight into nodes, and never allocates in the heap: the
 * form it reads cannot move while it works. Syntax errors are raised as Scheme errors
 * whose location is the offending form's. */
#include <stdarg.h>
#include <string.h>

#include "code.h"

struct scope {
    value *names;
    int n, cap;
    struct scope *parent;
};

static struct {
    value quote, quasiquote, unquote, unquote_splicing, lambda, define, if_, set, let, let_star,
        letrec, letrec_star, begin, cond, case_, and_, or_, when, unless, do_, else_, arrow,
        define_record_type, define_values, let_values, let_star_values, guard, delay, delay_force,
        do_loop, make_promise_kw, import, define_syntax, let_syntax, letrec_syntax, syntax_rules,
        case_lambda, parameterize, dot3, underscore;
} kw;
static value prim_cons, prim_list_to_vector, prim_append2, prim_raise, prim_make_rtd, prim_rec_ctor,
    prim_rec_pred, prim_rec_acc, prim_rec_mod, prim_list;

/* The location of the innermost form being compiled that has one: variable references
 * and errors in forms without one (symbols carry no location) report it. */
static SCM_THREAD_LOCAL uint64_t enclosing_loc;

static struct node *compile(value x, struct scope *sc);
static struct node *compile_body(value body, struct scope *sc, value whole);

/* ---- Helpers ---- */

static uint64_t loc_of(value x)
{
    return PAIR_P(x) ? PAIR_LOC(x) : 0;
}

__attribute__((noreturn)) static void syntax_error(value form, const char *msg)
{
    if (PAIR_P(form) && PAIR_LOC(form))
        current_location = PAIR_LOC(form);
    else if (enclosing_loc)
        current_location = enclosing_loc;
    char full[200];
    snprintf(full, sizeof full, "syntax error: %s", msg);
    vs_push(form);
    value irritants = cons(vs[vsp - 1], NIL);
    vsp--;
    scm_raise(make_error("syntax", full, irritants));
}

static struct node *new_node(int op, uint64_t loc)
{
    struct node *n = perm_alloc(sizeof *n);
    n->op = (uint8_t)op;
    n->loc = loc;
    return n;
}

static struct node *const_node(value v, uint64_t loc)
{
    struct node *n = new_node(N_CONST, loc);
    n->k = v;
    if (POINTER_P(v) && ((!SYMBOL_P(v) && OBJ_TYPE(v) != T_PRIMITIVE) || symbol_in_heap(v)))
        register_constant(&n->k);
    return n;
}

static struct node **alloc_kids(size_t n)
{
    return n ? perm_alloc(n * sizeof(struct node *)) : NULL;
}

static long checked_length(value form, value l, const char *what)
{
    long n = list_length(l);
    if (n < 0)
        syntax_error(form, what);
    return n;
}

static int scope_add(struct scope *sc, value name)
{
    if (sc->n == sc->cap) {
        int cap = sc->cap ? sc->cap * 2 : 8;
        value *nn = perm_alloc((size_t)cap * sizeof(value));
        if (sc->n)
            memcpy(nn, sc->names, (size_t)sc->n * sizeof(value));
        sc->names = nn; /* the old array is part of the run's code memory */
        sc->cap = cap;
    }
    sc->names[sc->n] = name;
    return sc->n++;
}

static bool lookup(struct scope *sc, value name, int *depth, int *index)
{
    for (int d = 0; sc; sc = sc->parent, d++)
        for (int i = sc->n - 1; i >= 0; i--)
            if (sc->names[i] == name) {
                *depth = d;
                *index = i;
                return true;
            }
    return false;
}

static bool is_keyword(value head, value kwsym, struct scope *sc)
{
    int d, i;
    return head == kwsym && !lookup(sc, head, &d, &i);
}

static struct node *ref_node(value sym, struct scope *sc, uint64_t loc)
{
    int d, i;
    if (lookup(sc, sym, &d, &i)) {
        struct node *n = new_node(d == 0 ? N_LOCAL0 : d == 1 ? N_LOCAL1 : N_LOCAL, loc);
        n->depth = d;
        n->index = i;
        n->k = sym; /* for the error message of a use before the definition */
        if (symbol_in_heap(sym))
            register_constant(&n->k);
        return n;
    }
    struct node *n = new_node(N_GLOBAL, loc);
    n->k = sym;
    if (symbol_in_heap(sym)) /* code keeps it alive */
        register_constant(&n->k);
    return n;
}

/* A node that stores into the variable `sym`, defining it at top level. */
static struct node *assign_node(value sym, struct scope *sc, struct node *val, uint64_t loc,
                                bool define)
{
    int d, i;
    struct node *n;
    if (lookup(sc, sym, &d, &i)) {
        n = new_node(N_SET_LOCAL, loc);
        n->depth = d;
        n->index = i;
    } else {
        n = new_node(define ? N_DEFINE_GLOBAL : N_SET_GLOBAL, loc);
    }
    n->k = sym;
    if (symbol_in_heap(sym))
        register_constant(&n->k);
    n->a = val;
    return n;
}

static struct node *call_node(value proc, uint64_t loc, int nargs, ...)
{
    struct node *n = new_node(N_CALL, loc);
    n->a = const_node(proc, loc);
    n->nkids = (uint16_t)nargs;
    n->kids = alloc_kids((size_t)nargs);
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++)
        n->kids[i] = va_arg(ap, struct node *);
    va_end(ap);
    return n;
}

static struct node *seq_node(struct node **items, int count, uint64_t loc)
{
    if (count == 0)
        return new_node(N_UNSPEC, loc);
    if (count == 1)
        return items[0];
    struct node *n = new_node(N_SEQ, loc);
    n->nkids = (uint16_t)count;
    n->kids = alloc_kids((size_t)count);
    memcpy(n->kids, items, (size_t)count * sizeof(struct node *));
    return n;
}

/* Compiles each form of a list into a sequence (no definitions allowed). */
static struct node *compile_seq(value forms, struct scope *sc, value whole)
{
    long count = checked_length(whole, forms, "improper list of expressions");
    if (count > 65535)
        syntax_error(whole, "too many expressions in one sequence");
    struct node **items = alloc_kids((size_t)count);
    for (long i = 0; i < count; i++, forms = CDR(forms))
        items[i] = compile(CAR(forms), sc);
    return seq_node(items, (int)count, loc_of(whole));
}

/* ---- Lambda ---- */

static struct lambda *compile_lambda(value formals, value body, struct scope *outer, value name,
                                     value whole)
{
    struct scope sc = {0};
    sc.parent = outer;
    struct lambda *lam = perm_alloc(sizeof *lam);
    lam->name = name;
    if (symbol_in_heap(name)) /* printed with the procedure: code keeps it */
        register_constant(&lam->name);
    lam->loc = loc_of(whole);
    while (PAIR_P(formals)) {
        if (!SYMBOL_P(CAR(formals)))
            syntax_error(whole, "a parameter must be a symbol");
        scope_add(&sc, CAR(formals));
        lam->nreq++;
        formals = CDR(formals);
    }
    if (SYMBOL_P(formals)) {
        scope_add(&sc, formals);
        lam->rest = 1;
    } else if (formals != NIL) {
        syntax_error(whole, "bad parameter list");
    }
    lam->body = compile_body(body, &sc, whole);
    lam->frame_size = sc.n;
    return lam;
}

static struct node *lambda_node(struct lambda *lam, uint64_t loc)
{
    struct node *n = new_node(N_LAMBDA, loc);
    n->lam = lam;
    return n;
}

/* ---- Bodies and definitions ---- */

/* Adds to the scope every name the body's definitions bind (splicing begin). */
static void scan_definitions(value body, struct scope *sc)
{
    for (; PAIR_P(body); body = CDR(body)) {
        value f = CAR(body);
        if (!PAIR_P(f) || !SYMBOL_P(CAR(f)))
            continue;
        value head = CAR(f);
        int d, i;
        if (lookup(sc, head, &d, &i))
            continue;
        if (head == kw.begin) {
            scan_definitions(CDR(f), sc);
        } else if (head == kw.define && PAIR_P(CDR(f))) {
            value target = CAR(CDR(f));
            while (PAIR_P(target))
                target = CAR(target);
            if (SYMBOL_P(target) && !(lookup(sc, target, &d, &i) && d == 0))
                scope_add(sc, target);
        } else if (head == kw.define_values && PAIR_P(CDR(f))) {
            value formals = CAR(CDR(f));
            for (; PAIR_P(formals); formals = CDR(formals))
                if (SYMBOL_P(CAR(formals)))
                    scope_add(sc, CAR(formals));
            if (SYMBOL_P(formals))
                scope_add(sc, formals);
        } else if (head == kw.define_record_type && list_length(f) >= 4) {
            value parts = CDR(f);
            if (SYMBOL_P(CAR(parts)))
                scope_add(sc, CAR(parts));
            value ctor = CAR(CDR(parts));
            if (PAIR_P(ctor) && SYMBOL_P(CAR(ctor)))
                scope_add(sc, CAR(ctor));
            else if (SYMBOL_P(ctor))
                scope_add(sc, ctor);
            if (SYMBOL_P(CAR(CDR(CDR(parts)))))
                scope_add(sc, CAR(CDR(CDR(parts))));
            for (value fs = CDR(CDR(CDR(parts))); PAIR_P(fs); fs = CDR(fs))
                for (value p = PAIR_P(CAR(fs)) ? CDR(CAR(fs)) : NIL; PAIR_P(p); p = CDR(p))
                    if (SYMBOL_P(CAR(p)))
                        scope_add(sc, CAR(p));
        }
    }
}

static struct node *compile_in_body(value x, struct scope *sc);

/* A lambda's or let's body: its definitions become slots of the scope's frame. */
static struct node *compile_body(value body, struct scope *sc, value whole)
{
    long count = checked_length(whole, body, "improper body");
    if (count == 0)
        syntax_error(whole, "empty body");
    if (count > 65535)
        syntax_error(whole, "too many expressions in one body");
    scan_definitions(body, sc);
    struct node **items = alloc_kids((size_t)count);
    for (long i = 0; i < count; i++, body = CDR(body))
        items[i] = compile_in_body(CAR(body), sc);
    return seq_node(items, (int)count, loc_of(whole));
}

static struct node *compile_define(value x, struct scope *sc)
{
    if (!PAIR_P(CDR(x)))
        syntax_error(x, "define needs a name");
    value target = CAR(CDR(x));
    if (PAIR_P(target)) { /* (define (name . formals) body...) */
        value name = CAR(target);
        if (!SYMBOL_P(name))
            syntax_error(x, "define: the procedure's name must be a symbol");
        struct lambda *lam = compile_lambda(CDR(target), CDR(CDR(x)), sc, name, x);
        return assign_node(name, sc, lambda_node(lam, loc_of(x)), loc_of(x), true);
    }
    if (!SYMBOL_P(target))
        syntax_error(x, "define: the name must be a symbol");
    value rest = CDR(CDR(x));
    struct node *val;
    if (rest == NIL) {
        val = new_node(N_UNSPEC, loc_of(x));
    } else {
        if (!PAIR_P(rest) || CDR(rest) != NIL)
            syntax_error(x, "define takes one expression");
        value e = CAR(rest);
        /* Name a lambda after its variable, for error messages. */
        if (PAIR_P(e) && is_keyword(CAR(e), kw.lambda, sc) && PAIR_P(CDR(e)))
            val = lambda_node(compile_lambda(CAR(CDR(e)), CDR(CDR(e)), sc, target, e), loc_of(e));
        else
            val = compile(e, sc);
    }
    return assign_node(target, sc, val, loc_of(x), true);
}

/* ---- let family ---- */

/* A loop: the procedure lam, called with the inits (evaluated in the outer frame), from a
 * frame of its own that binds it (named let, do). */
static struct node *named_let_node(struct lambda *lam, struct node **inits, long n, uint64_t loc)
{
    struct node *node = new_node(N_NAMED_LET, loc);
    node->lam = lam;
    node->a = lambda_node(lam, loc);
    node->kids = inits;
    node->nkids = (uint16_t)n;
    return node;
}

static struct node *compile_named_let(value x, struct scope *sc)
{
    value name = CAR(CDR(x)), bindings = CAR(CDR(CDR(x))), body = CDR(CDR(CDR(x)));
    long n = checked_length(x, bindings, "named let: bad bindings");
    if (n > 65535)
        syntax_error(x, "too many loop variables");
    struct scope loop_scope = {0};
    loop_scope.parent = sc;
    scope_add(&loop_scope, name);
    /* The loop's formals are the binding names; build the lambda by hand. */
    struct scope params = {0};
    params.parent = &loop_scope;
    struct lambda *lam = perm_alloc(sizeof *lam);
    lam->name = name;
    if (symbol_in_heap(name)) /* printed with the procedure: code keeps it */
        register_constant(&lam->name);
    lam->loc = loc_of(x);
    struct node **inits = alloc_kids((size_t)n);
    value b = bindings;
    for (long i = 0; i < n; i++, b = CDR(b)) {
        value bind = CAR(b);
        if (!PAIR_P(bind) || !SYMBOL_P(CAR(bind)) || !PAIR_P(CDR(bind)) || CDR(CDR(bind)) != NIL)
            syntax_error(x, "named let: each binding is (name expression)");
        scope_add(&params, CAR(bind));
        inits[i] = compile(CAR(CDR(bind)), sc);
    }
    lam->nreq = (int)n;
    lam->body = compile_body(body, &params, x);
    lam->frame_size = params.n;
    return named_let_node(lam, inits, n, loc_of(x));
}

/* let, let*, letrec, letrec*: one new frame. For let the inits see the outer scope; for
 * let* each init sees the names before it; for letrec(*) every init sees every name. */
enum let_kind { LET_PLAIN, LET_STAR, LET_REC };

static struct node *compile_let(value x, struct scope *sc, enum let_kind kind)
{
    if (!PAIR_P(CDR(x)))
        syntax_error(x, "let needs bindings and a body");
    if (kind == LET_PLAIN && SYMBOL_P(CAR(CDR(x)))) {
        if (!PAIR_P(CDR(CDR(x))))
            syntax_error(x, "named let needs bindings and a body");
        return compile_named_let(x, sc);
    }
    value bindings = CAR(CDR(x)), body = CDR(CDR(x));
    long n = checked_length(x, bindings, "let: bad bindings");
    if (n > 65535)
        syntax_error(x, "too many bindings");
    struct scope inner = {0};
    inner.parent = sc;
    struct node **inits = alloc_kids((size_t)n);
    value b = bindings;
    if (kind == LET_REC)
        for (value t = bindings; PAIR_P(t); t = CDR(t))
            if (PAIR_P(CAR(t)) && SYMBOL_P(CAR(CAR(t))))
                scope_add(&inner, CAR(CAR(t)));
    for (long i = 0; i < n; i++, b = CDR(b)) {
        value bind = CAR(b);
        if (!PAIR_P(bind) || !SYMBOL_P(CAR(bind)))
            syntax_error(x, "let: each binding is (name expression)");
        value rest = CDR(bind);
        if (rest != NIL && (!PAIR_P(rest) || CDR(rest) != NIL))
            syntax_error(x, "let: each binding is (name expression)");
        value e = rest == NIL ? UNSPEC : CAR(rest);
        struct scope *init_scope = kind == LET_PLAIN ? sc : &inner;
        if (rest == NIL)
            inits[i] = new_node(N_UNSPEC, loc_of(x));
        else if (PAIR_P(e) && is_keyword(CAR(e), kw.lambda, init_scope) && PAIR_P(CDR(e)))
            inits[i] = lambda_node(
                compile_lambda(CAR(CDR(e)), CDR(CDR(e)), init_scope, CAR(bind), e), loc_of(e));
        else
            inits[i] = compile(e, init_scope);
        if (kind != LET_REC)
            scope_add(&inner, CAR(bind));
    }
    struct node *node = new_node(kind == LET_PLAIN ? N_LET : N_LETREC, loc_of(x));
    node->kids = inits;
    node->nkids = (uint16_t)n;
    node->a = compile_body(body, &inner, x);
    node->index = inner.n;
    return node;
}

static void parse_formals(value x, value formals, struct scope *sc, int *nreq, int *rest)
{
    *nreq = 0;
    *rest = 0;
    for (; PAIR_P(formals); formals = CDR(formals)) {
        if (!SYMBOL_P(CAR(formals)))
            syntax_error(x, "formals must be symbols");
        scope_add(sc, CAR(formals));
        (*nreq)++;
    }
    if (SYMBOL_P(formals)) {
        scope_add(sc, formals);
        *rest = 1;
    } else if (formals != NIL) {
        syntax_error(x, "bad formals");
    }
}

/* One N_LET_VALUES frame for `bindings` (all of them, or one at a time for let*-values,
 * nesting a frame per binding). */
static struct node *compile_let_values(value x, struct scope *sc, bool star)
{
    if (!PAIR_P(CDR(x)))
        syntax_error(x, "let-values needs bindings and a body");
    value bindings = CAR(CDR(x)), body = CDR(CDR(x));
    long n = checked_length(x, bindings, "let-values: bad bindings");
    if (n > 65535)
        syntax_error(x, "too many bindings");
    long per_frame = star ? 1 : (n ? n : 1);
    long frames = star ? (n ? n : 1) : 1;
    struct scope *scopes = perm_alloc((size_t)frames * sizeof(struct scope));
    struct node **nodes = alloc_kids((size_t)frames);
    struct scope *parent = sc;
    value b = bindings;
    for (long f = 0; f < frames; f++) {
        long count = n == 0 ? 0 : per_frame;
        struct node *node = new_node(N_LET_VALUES, loc_of(x));
        node->nkids = (uint16_t)count;
        node->kids = alloc_kids((size_t)count);
        node->flags = perm_alloc((size_t)(count ? count : 1) * sizeof(int32_t));
        scopes[f].parent = parent;
        for (long i = 0; i < count; i++, b = CDR(b)) {
            value bind = CAR(b);
            if (!PAIR_P(bind) || !PAIR_P(CDR(bind)) || CDR(CDR(bind)) != NIL)
                syntax_error(x, "let-values: each binding is (formals expression)");
            node->kids[i] = compile(CAR(CDR(bind)), parent);
            int nreq, rest;
            parse_formals(x, CAR(bind), &scopes[f], &nreq, &rest);
            node->flags[i] = nreq << 1 | rest;
        }
        nodes[f] = node;
        parent = &scopes[f];
    }
    /* Each frame's body is the next frame; the last one's is the body. Frame sizes are
     * known once the body's definitions are in the innermost scope. */
    struct node *inner = compile_body(body, parent, x);
    for (long f = frames; f-- > 0;) {
        nodes[f]->a = inner;
        nodes[f]->index = scopes[f].n;
        inner = nodes[f];
    }
    return inner;
}

static struct node *compile_define_values(value x, struct scope *sc)
{
    if (!PAIR_P(CDR(x)) || !PAIR_P(CDR(CDR(x))) || CDR(CDR(CDR(x))) != NIL)
        syntax_error(x, "define-values takes formals and one expression");
    value formals = CAR(CDR(x));
    struct node *n = new_node(N_BIND_VALUES, loc_of(x));
    n->a = compile(CAR(CDR(CDR(x))), sc);
    int nreq = 0, rest = 0, first = -1;
    value f = formals;
    for (; PAIR_P(f); f = CDR(f), nreq++) {
        if (!SYMBOL_P(CAR(f)))
            syntax_error(x, "define-values: formals must be symbols");
        int d, i;
        if (sc && lookup(sc, CAR(f), &d, &i) && d == 0 && first < 0)
            first = i;
    }
    if (SYMBOL_P(f))
        rest = 1;
    else if (f != NIL)
        syntax_error(x, "define-values: bad formals");
    if (!SYMBOL_P(formals) || sc) {
        int d, i;
        if (SYMBOL_P(formals) && sc && lookup(sc, formals, &d, &i) && d == 0)
            first = i;
    }
    n->nreq = nreq;
    n->rest = rest;
    if (sc) {
        n->depth = 0;
        n->index = first < 0 ? 0 : first;
    } else {
        n->depth = -1;
        n->k = formals;
        register_constant(&n->k);
    }
    return n;
}

/* ---- Conditionals ---- */

static struct node *compile_cond(value x, value clauses, struct scope *sc)
{
    if (clauses == NIL)
        return new_node(N_UNSPEC, loc_of(x));
    if (!PAIR_P(clauses) || !PAIR_P(CAR(clauses)))
        syntax_error(x, "cond: each clause is (test expression...)");
    value clause = CAR(clauses);
    value test = CAR(clause), body = CDR(clause);
    if (is_keyword(test, kw.else_, sc)) {
        if (CDR(clauses) != NIL)
            syntax_error(x, "cond: else must be the last clause");
        return compile_seq(body, sc, x);
    }
    struct node *rest = compile_cond(x, CDR(clauses), sc);
    if (body == NIL) { /* (test): the test's value if true */
        struct node *n = new_node(N_OR, loc_of(clause));
        n->nkids = 2;
        n->kids = alloc_kids(2);
        n->kids[0] = compile(test, sc);
        n->kids[1] = rest;
        return n;
    }
    if (PAIR_P(body) && is_keyword(CAR(body), kw.arrow, sc)) {
        if (!PAIR_P(CDR(body)) || CDR(CDR(body)) != NIL)
            syntax_error(x, "cond: => takes one receiver");
        struct node *n = new_node(N_COND_ARROW, loc_of(clause));
        n->a = compile(test, sc);
        n->b = compile(CAR(CDR(body)), sc);
        n->c = rest;
        return n;
    }
    struct node *n = new_node(N_IF, loc_of(clause));
    n->a = compile(test, sc);
    n->b = compile_seq(body, sc, x);
    n->c = rest;
    return n;
}

static struct node *compile_case(value x, struct scope *sc)
{
    if (!PAIR_P(CDR(x)))
        syntax_error(x, "case needs a key");
    value clauses = CDR(CDR(x));
    long n = checked_length(x, clauses, "case: bad clauses");
    struct node *node = new_node(N_CASE, loc_of(x));
    node->a = compile(CAR(CDR(x)), sc);
    node->nkids = (uint16_t)n;
    node->kids = alloc_kids((size_t)n);
    node->flags = perm_alloc((size_t)(n ? n : 1) * sizeof(int32_t));
    /* The datum lists are in the form itself, which is kept alive as a constant. */
    node->k = clauses;
    register_constant(&node->k);
    value c = clauses;
    for (long i = 0; i < n; i++, c = CDR(c)) {
        value clause = CAR(c);
        if (!PAIR_P(clause))
            syntax_error(x, "case: each clause is ((datum...) expression...)");
        value data = CAR(clause), body = CDR(clause);
        if (is_keyword(data, kw.else_, sc)) {
            if (CDR(c) != NIL)
                syntax_error(x, "case: else must be the last clause");
        } else if (list_length(data) < 0) {
            syntax_error(x, "case: each clause starts with a list of data");
        }
        if (PAIR_P(body) && is_keyword(CAR(body), kw.arrow, sc)) {
            if (!PAIR_P(CDR(body)) || CDR(CDR(body)) != NIL)
                syntax_error(x, "case: => takes one receiver");
            node->kids[i] = compile(CAR(CDR(body)), sc);
            node->flags[i] = 1;
        } else {
            node->kids[i] = compile_seq(body, sc, x);
        }
    }
    return node;
}

static struct node *compile_and_or(value x, struct scope *sc, int op)
{
    long n = checked_length(x, CDR(x), "bad and/or");
    if (n == 0)
        return const_node(op == N_AND ? TRUE_V : FALSE_V, loc_of(x));
    if (n == 1)
        return compile(CAR(CDR(x)), sc);
    struct node *node = new_node(op, loc_of(x));
    node->nkids = (uint16_t)n;
    node->kids = alloc_kids((size_t)n);
    value e = CDR(x);
    for (long i = 0; i < n; i++, e = CDR(e))
        node->kids[i] = compile(CAR(e), sc);
    return node;
}

static struct node *compile_do(value x, struct scope *sc)
{
    /* (do ((var init step)...) (test result...) command...) is a named let whose body
     * is (if test (begin result...) (begin command... (loop step...))). */
    if (checked_length(x, x, "bad do") < 3 || !PAIR_P(CAR(CDR(CDR(x)))))
        syntax_error(x, "do needs variables and a (test result...) clause");
    value specs = CAR(CDR(x)), exit = CAR(CDR(CDR(x))), commands = CDR(CDR(CDR(x)));
    long n = checked_length(x, specs, "do: bad variables");
    if (n > 65535)
        syntax_error(x, "too many loop variables");
    struct scope loop_scope = {0};
    loop_scope.parent = sc;
    scope_add(&loop_scope, kw.do_loop); /* the loop procedure, hidden */
    struct scope params = {0};
    params.parent = &loop_scope;
    struct node **inits = alloc_kids((size_t)n);
    value s = specs;
    for (long i = 0; i < n; i++, s = CDR(s)) {
        value spec = CAR(s);
        long len = list_length(spec);
        if (len < 2 || len > 3 || !SYMBOL_P(CAR(spec)))
            syntax_error(x, "do: each variable is (name init [step])");
        inits[i] = compile(CAR(CDR(spec)), sc);
        scope_add(&params, CAR(spec));
    }
    struct node *loop_call = new_node(N_CALL, loc_of(x));
    loop_call->a = new_node(N_LOCAL1, loc_of(x));
    loop_call->a->depth = 1;
    loop_call->a->index = 0;
    loop_call->nkids = (uint16_t)n;
    loop_call->kids = alloc_kids((size_t)n);
    s = specs;
    for (long i = 0; i < n; i++, s = CDR(s)) {
        value spec = CAR(s);
        loop_call->kids[i] = PAIR_P(CDR(CDR(spec))) ? compile(CAR(CDR(CDR(spec))), &params)
                                                    : ref_node(CAR(spec), &params, loc_of(x));
    }
    long ncmd = checked_length(x, commands, "do: bad commands");
    struct node **items = alloc_kids((size_t)ncmd + 1);
    value c = commands;
    for (long i = 0; i < ncmd; i++, c = CDR(c))
        items[i] = compile(CAR(c), &params);
    items[ncmd] = loop_call;
    struct node *iff = new_node(N_IF, loc_of(x));
    iff->a = compile(CAR(exit), &params);
    iff->b = compile_seq(CDR(exit), &params, x);
    iff->c = seq_node(items, (int)ncmd + 1, loc_of(x));
    struct lambda *lam = perm_alloc(sizeof *lam);
    lam->name = intern_c("do");
    lam->loc = loc_of(x);
    lam->nreq = (int)n;
    lam->body = iff;
    lam->frame_size = params.n;
    return named_let_node(lam, inits, n, loc_of(x));
}

/* ---- Quasiquote ---- */

static bool has_unquote(value x, int depth)
{
    if (PAIR_P(x)) {
        value h = CAR(x);
        if ((h == kw.unquote || h == kw.unquote_splicing) && depth == 1)
            return true;
        int d = h == kw.quasiquote                              ? depth + 1
                : (h == kw.unquote || h == kw.unquote_splicing) ? depth - 1
                                                                : depth;
        if (h == kw.quasiquote || h == kw.unquote || h == kw.unquote_splicing)
            return has_unquote(CDR(x), d);
        for (; PAIR_P(x); x = CDR(x)) {
            if (CAR(x) == kw.unquote && depth == 1)
                return true; /* a dotted unquote: `(a . ,b) */
            if (has_unquote(CAR(x), depth))
                return true;
        }
        return has_unquote(x, depth);
    }
    if (VECTOR_P(x))
        for (size_t i = 0; i < VLEN(x); i++)
            if (has_unquote(VREF(x, i), depth))
                return true;
    return false;
}

static struct node *compile_qq(value x, int depth, struct scope *sc, value whole)
{
    uint64_t loc = loc_of(whole);
    if (!has_unquote(x, depth))
        return const_node(x, loc);
    if (VECTOR_P(x)) {
        /* The vector's items as a list, compiled like a list, then list->vector. */
        struct node *items = NULL;
        for (size_t i = VLEN(x); i-- > 0;) {
            value item = VREF(x, i);
            struct node *tail = items ? items : const_node(NIL, loc);
            if (PAIR_P(item) && CAR(item) == kw.unquote_splicing && depth == 1) {
                if (!PAIR_P(CDR(item)))
                    syntax_error(whole, "bad unquote-splicing");
                items = call_node(prim_append2, loc, 2, compile(CAR(CDR(item)), sc), tail);
            } else {
                items = call_node(prim_cons, loc, 2, compile_qq(item, depth, sc, whole), tail);
            }
        }
        return call_node(prim_list_to_vector, loc, 1, items ? items : const_node(NIL, loc));
    }
    value h = CAR(x);
    if (h == kw.unquote) {
        if (!PAIR_P(CDR(x)) || CDR(CDR(x)) != NIL)
            syntax_error(whole, "unquote takes one expression");
        if (depth == 1)
            return compile(CAR(CDR(x)), sc);
        return call_node(prim_list, loc, 2, const_node(kw.unquote, loc),
                         compile_qq(CAR(CDR(x)), depth - 1, sc, whole));
    }
    if (h == kw.quasiquote && PAIR_P(CDR(x)))
        return call_node(prim_list, loc, 2, const_node(kw.quasiquote, loc),
                         compile_qq(CAR(CDR(x)), depth + 1, sc, whole));
    if (PAIR_P(h) && CAR(h) == kw.unquote_splicing) {
        if (!PAIR_P(CDR(h)))
            syntax_error(whole, "bad unquote-splicing");
        struct node *rest = compile_qq(CDR(x), depth, sc, whole);
        if (depth == 1)
            return call_node(prim_append2, loc, 2, compile(CAR(CDR(h)), sc), rest);
        return call_node(prim_cons, loc, 2,
                         call_node(prim_list, loc, 2, const_node(kw.unquote_splicing, loc),
                                   compile_qq(CAR(CDR(h)), depth - 1, sc, whole)),
                         rest);
    }
    return call_node(prim_cons, loc, 2, compile_qq(h, depth, sc, whole),
                     compile_qq(CDR(x), depth, sc, whole));
}

/* ---- Records ---- */

/* Defines `name` as the accessor or modifier (made by maker) of field `index` of the
 * record type bound to tname. */
static struct node *field_procedure(value maker, value name, value tname, long index,
                                    struct scope *sc, uint64_t loc)
{
    struct node *make = call_node(maker, loc, 3, ref_node(tname, sc, loc),
                                  const_node(MAKE_FIX(index), loc), const_node(name, loc));
    return assign_node(name, sc, make, loc, true);
}

static struct node *compile_record_type(value x, struct scope *sc)
{
    if (list_length(x) < 4)
        syntax_error(x, "define-record-type needs a name, a constructor and a predicate");
    value tname = CAR(CDR(x)), ctor = CAR(CDR(CDR(x))), pred = CAR(CDR(CDR(CDR(x))));
    value fields = CDR(CDR(CDR(CDR(x))));
    if (PAIR_P(tname)) /* (name extra...) as some systems allow: the first is the name */
        tname = CAR(tname);
    if (!SYMBOL_P(tname))
        syntax_error(x, "define-record-type: the type name must be a symbol");
    uint64_t loc = loc_of(x);
    long nf = checked_length(x, fields, "define-record-type: bad field list");
    /* The field names, as a list constant kept alive by the form. */
    struct node **items = alloc_kids((size_t)(nf * 2 + 3));
    int count = 0;
    value names = fields; /* the constructor primitive reads names from the specs */
    for (value f = fields; PAIR_P(f); f = CDR(f)) {
        value spec = CAR(f);
        if (SYMBOL_P(spec))
            continue;
        if (!PAIR_P(spec) || !SYMBOL_P(CAR(spec)) || list_length(spec) < 1 || list_length(spec) > 3)
            syntax_error(x, "define-record-type: each field is (name [accessor [modifier]])");
    }
    items[count++] = assign_node(
        tname, sc, call_node(prim_make_rtd, loc, 2, const_node(tname, loc), const_node(names, loc)),
        loc, true);
    if (PAIR_P(ctor) || SYMBOL_P(ctor)) {
        value cname = PAIR_P(ctor) ? CAR(ctor) : ctor;
        value cfields = PAIR_P(ctor) ? CDR(ctor) : TRUE_V; /* #t: all fields, in order */
        if (!SYMBOL_P(cname))
            syntax_error(x, "define-record-type: bad constructor");
        items[count++] = assign_node(cname, sc,
                                     call_node(prim_rec_ctor, loc, 3, ref_node(tname, sc, loc),
                                               const_node(cfields, loc), const_node(cname, loc)),
                                     loc, true);
    }
    if (SYMBOL_P(pred))
        items[count++] = assign_node(
            pred, sc,
            call_node(prim_rec_pred, loc, 2, ref_node(tname, sc, loc), const_node(pred, loc)), loc,
            true);
    long index = 0;
    for (value f = fields; PAIR_P(f); f = CDR(f), index++) {
        value spec = CAR(f);
        if (!PAIR_P(spec))
            continue;
        if (PAIR_P(CDR(spec))) {
            value acc = CAR(CDR(spec));
            if (!SYMBOL_P(acc))
                syntax_error(x, "define-record-type: an accessor must be a symbol");
            items[count++] = field_procedure(prim_rec_acc, acc, tname, index, sc, loc);
            if (PAIR_P(CDR(CDR(spec)))) {
                value mod = CAR(CDR(CDR(spec)));
                if (!SYMBOL_P(mod))
                    syntax_error(x, "define-record-type: a modifier must be a symbol");
                items[count++] = field_procedure(prim_rec_mod, mod, tname, index, sc, loc);
            }
        }
    }
    return seq_node(items, count, loc);
}

/* ---- guard ---- */

static struct node *compile_guard(value x, struct scope *sc)
{
    /* (guard (var clause...) body...) */
    if (!PAIR_P(CDR(x)) || !PAIR_P(CAR(CDR(x))) || !SYMBOL_P(CAR(CAR(CDR(x)))))
        syntax_error(x, "guard: expected (guard (variable clause...) body...)");
    value var = CAR(CAR(CDR(x))), clauses = CDR(CAR(CDR(x)));
    struct node *n = new_node(N_GUARD, loc_of(x));
    /* The body is compiled in the current scope, as a sequence. */
    n->a = compile_seq(CDR(CDR(x)), sc, x);
    struct scope hs = {0};
    hs.parent = sc;
    scope_add(&hs, var);
    /* Clauses as a cond whose fallback re-raises the condition. */
    bool has_else = false;
    for (value c = clauses; PAIR_P(c); c = CDR(c))
        if (PAIR_P(CAR(c)) && CAR(CAR(c)) == kw.else_)
            has_else = true;
    struct node *handler = compile_cond(x, clauses, &hs);
    if (!has_else) {
        /* Find the innermost else position: compile_cond ends with N_UNSPEC; replace
         * it by (raise-continuable var) in the guard's context. */
        struct node *reraise = call_node(prim_raise, loc_of(x), 1, ref_node(var, &hs, loc_of(x)));
        if (handler->op == N_UNSPEC) {
            handler = reraise;
        } else {
            struct node *w = handler;
            for (;;) {
                struct node **next = w->op == N_OR ? &w->kids[1] : &w->c;
                if ((*next)->op == N_UNSPEC) {
                    *next = reraise;
                    break;
                }
                w = *next;
            }
        }
    }
    n->b = handler;
    n->index = hs.n;
    return n;
}

/* ---- import ---- */

static const char *const known_libraries[] = {
    "base",    "cxr",  "char",        "inexact", "read", "write", "time", "file", "process-context",
    "complex", "lazy", "case-lambda", "eval",    "repl", "load",  NULL};

bool library_available(value name)
{
    if (list_length(name) == 2 && CAR(name) == intern_c("scheme") && SYMBOL_P(CAR(CDR(name))))
        for (int i = 0; known_libraries[i]; i++)
            if (strcmp(SYM(CAR(CDR(name)))->name, known_libraries[i]) == 0)
                return true;
    if (list_length(name) == 2 && CAR(name) == intern_c("srfi"))
        return CAR(CDR(name)) == MAKE_FIX(18) || CAR(CDR(name)) == MAKE_FIX(69) ||
               CAR(CDR(name)) == MAKE_FIX(124);
    return false;
}

static struct node *compile_import(value x)
{
    for (value sets = CDR(x); PAIR_P(sets); sets = CDR(sets)) {
        value set = CAR(sets);
        /* (only|except|prefix|rename <set> ...) wrap a library name. */
        while (PAIR_P(set) && SYMBOL_P(CAR(set)) && PAIR_P(CDR(set)) && PAIR_P(CAR(CDR(set))) &&
               (strcmp(SYM(CAR(set))->name, "only") == 0 ||
                strcmp(SYM(CAR(set))->name, "except") == 0 ||
                strcmp(SYM(CAR(set))->name, "prefix") == 0 ||
                strcmp(SYM(CAR(set))->name, "rename") == 0))
            set = CAR(CDR(set));
        if (!library_available(set))
            syntax_error(set, "unknown library (the built-in (scheme ...) libraries are "
                              "base, char, cxr, file, inexact, lazy, process-context, read, "
                              "time, write; and (srfi 18), (srfi 69), (srfi 124))");
    }
    return new_node(N_UNSPEC, loc_of(x));
}

/* ---- The dispatcher ---- */

static struct node *compile_pair_at(value x, struct scope *sc);

static struct node *compile_pair(value x, struct scope *sc)
{
    uint64_t saved = enclosing_loc;
    if (loc_of(x))
        enclosing_loc = loc_of(x);
    struct node *n = compile_pair_at(x, sc);
    enclosing_loc = saved;
    return n;
}

static struct node *compile_pair_at(value x, struct scope *sc)
{
    value head = CAR(x);
    uint64_t loc = loc_of(x);
    if (list_length(x) < 0)
        syntax_error(x, "a form must be a proper list");
    if (SYMBOL_P(head)) {
        int d, i;
        if (!lookup(sc, head, &d, &i)) {
            if (head == kw.quote) {
                if (!PAIR_P(CDR(x)) || CDR(CDR(x)) != NIL)
                    syntax_error(x, "quote takes one datum");
                return const_node(CAR(CDR(x)), loc);
            }
            if (head == kw.quasiquote) {
                if (!PAIR_P(CDR(x)) || CDR(CDR(x)) != NIL)
                    syntax_error(x, "quasiquote takes one datum");
                return compile_qq(CAR(CDR(x)), 1, sc, x);
            }
            if (head == kw.unquote || head == kw.unquote_splicing)
                syntax_error(x, "unquote outside quasiquote");
            if (head == kw.lambda) {
                if (!PAIR_P(CDR(x)))
                    syntax_error(x, "lambda needs parameters and a body");
                return lambda_node(compile_lambda(CAR(CDR(x)), CDR(CDR(x)), sc, FALSE_V, x), loc);
            }
            if (head == kw.define)
                syntax_error(x, "define is allowed only at top level or at the start of a body");
            if (head == kw.define_values || head == kw.define_record_type)
                syntax_error(x, "definitions are allowed only at top level or at the start of "
                                "a body");
            if (head == kw.if_) {
                long n = list_length(x);
                if (n != 3 && n != 4)
                    syntax_error(x, "if takes a test, a consequent and an optional alternative");
                struct node *node = new_node(N_IF, loc);
                node->a = compile(CAR(CDR(x)), sc);
                node->b = compile(CAR(CDR(CDR(x))), sc);
                node->c = n == 4 ? compile(CAR(CDR(CDR(CDR(x)))), sc) : new_node(N_UNSPEC, loc);
                return node;
            }
            if (head == kw.set) {
                if (list_length(x) != 3 || !SYMBOL_P(CAR(CDR(x))))
                    syntax_error(x, "set! takes a variable and an expression");
                return assign_node(CAR(CDR(x)), sc, compile(CAR(CDR(CDR(x))), sc), loc, false);
            }
            if (head == kw.begin)
                return compile_seq(CDR(x), sc, x);
            if (head == kw.let)
                return compile_let(x, sc, LET_PLAIN);
            if (head == kw.let_star)
                return compile_let(x, sc, LET_STAR);
            if (head == kw.letrec || head == kw.letrec_star)
                return compile_let(x, sc, LET_REC);
            if (head == kw.let_values || head == kw.let_star_values)
                return compile_let_values(x, sc, head == kw.let_star_values);
            if (head == kw.cond)
                return compile_cond(x, CDR(x), sc);
            if (head == kw.case_)
                return compile_case(x, sc);
            if (head == kw.and_)
                return compile_and_or(x, sc, N_AND);
            if (head == kw.or_)
                return compile_and_or(x, sc, N_OR);
            if (head == kw.when || head == kw.unless) {
                if (!PAIR_P(CDR(x)))
                    syntax_error(x, "when/unless need a test");
                struct node *node = new_node(N_IF, loc);
                node->a = compile(CAR(CDR(x)), sc);
                struct node *body = compile_seq(CDR(CDR(x)), sc, x);
                struct node *none = new_node(N_UNSPEC, loc);
                node->b = head == kw.when ? body : none;
                node->c = head == kw.when ? none : body;
                return node;
            }
            if (head == kw.do_)
                return compile_do(x, sc);
            if (head == kw.guard)
                return compile_guard(x, sc);
            if (head == kw.delay || head == kw.delay_force) {
                if (list_length(x) != 2)
                    syntax_error(x, "delay takes one expression");
                struct node *node = new_node(N_DELAY, loc);
                node->lam = compile_lambda(NIL, CDR(x), sc, FALSE_V, x);
                node->a = lambda_node(node->lam, loc);
                node->index = head == kw.delay_force;
                return node;
            }
            if (head == kw.import)
                return compile_import(x);
            if (head == kw.let_syntax || head == kw.letrec_syntax || head == kw.syntax_rules)
                syntax_error(x,
                             "let-syntax and letrec-syntax are not supported (use define-syntax)");
            if (head == kw.case_lambda) {
                long n = list_length(x) - 1;
                if (n > 65535)
                    syntax_error(x, "too many case-lambda clauses");
                struct node *node = new_node(N_CASE_LAMBDA, loc);
                node->nkids = (uint16_t)n;
                node->kids = alloc_kids((size_t)n);
                value c = CDR(x);
                for (long i = 0; i < n; i++, c = CDR(c)) {
                    if (!PAIR_P(CAR(c)))
                        syntax_error(x, "case-lambda: each clause is (formals body...)");
                    node->kids[i] =
                        lambda_node(compile_lambda(CAR(CAR(c)), CDR(CAR(c)), sc, FALSE_V, x), loc);
                }
                return node;
            }
            if (head == kw.parameterize) {
                if (!PAIR_P(CDR(x)))
                    syntax_error(x, "parameterize needs bindings and a body");
                value bindings = CAR(CDR(x));
                long n = checked_length(x, bindings, "parameterize: bad bindings");
                if (n > 30000)
                    syntax_error(x, "too many parameterize bindings");
                struct node *node = new_node(N_PARAMETERIZE, loc);
                node->nkids = (uint16_t)(2 * n);
                node->kids = alloc_kids((size_t)(2 * n));
                value b = bindings;
                for (long i = 0; i < n; i++, b = CDR(b)) {
                    if (list_length(CAR(b)) != 2)
                        syntax_error(x, "parameterize: each binding is (parameter value)");
                    node->kids[2 * i] = compile(CAR(CAR(b)), sc);
                    node->kids[2 * i + 1] = compile(CAR(CDR(CAR(b))), sc);
                }
                node->a = compile_seq(CDR(CDR(x)), sc, x);
                return node;
            }
        }
    }
    long n = list_length(x) - 1;
    if (n > 65535)
        syntax_error(x, "too many arguments");
    struct node *node = new_node(N_CALL, loc);
    node->a = compile(head, sc);
    node->nkids = (uint16_t)n;
    node->kids = alloc_kids((size_t)n);
    value a = CDR(x);
    for (long i = 0; i < n; i++, a = CDR(a))
        node->kids[i] = compile(CAR(a), sc);
    return node;
}

void stack_check(void);

static struct node *compile(value x, struct scope *sc)
{
    stack_check();
    if (SYMBOL_P(x))
        return ref_node(x, sc, enclosing_loc);
    if (PAIR_P(x))
        return compile_pair(x, sc);
    if (x == NIL)
        syntax_error(x, "() is not an expression (quote it: '())");
    return const_node(x, 0);
}

/* A form where definitions are allowed: at top level (sc NULL) a definition makes a
 * global; in a body it assigns the slot scan_definitions made. (begin ...) splices. */
static struct node *compile_in_body(value x, struct scope *sc)
{
    int d, i;
    if (PAIR_P(x) && SYMBOL_P(CAR(x)) && !lookup(sc, CAR(x), &d, &i)) {
        value head = CAR(x);
        if (head == kw.define)
            return compile_define(x, sc);
        if (head == kw.define_values)
            return compile_define_values(x, sc);
        if (head == kw.define_record_type)
            return compile_record_type(x, sc);
        if (head == kw.begin) {
            long count = checked_length(x, CDR(x), "improper begin");
            if (count > 65535)
                syntax_error(x, "too many expressions in one begin");
            struct node **items = alloc_kids((size_t)count);
            value f = CDR(x);
            for (long j = 0; j < count; j++, f = CDR(f))
                items[j] = compile_in_body(CAR(f), sc);
            return seq_node(items, (int)count, loc_of(x));
        }
    }
    return compile(x, sc);
}

struct node *compile_toplevel(value form)
{
    form = expand_macros(form); /* allocates; compiling does not */
    return compile_in_body(form, NULL);
}

static void init_keyword(value *slot, const char *name)
{
    *slot = intern_c(name);
}

void compiler_init(void)
{
    macros_init();
    init_keyword(&kw.quote, "quote");
    init_keyword(&kw.quasiquote, "quasiquote");
    init_keyword(&kw.unquote, "unquote");
    init_keyword(&kw.unquote_splicing, "unquote-splicing");
    init_keyword(&kw.lambda, "lambda");
    init_keyword(&kw.define, "define");
    init_keyword(&kw.if_, "if");
    init_keyword(&kw.set, "set!");
    init_keyword(&kw.let, "let");
    init_keyword(&kw.let_star, "let*");
    init_keyword(&kw.letrec, "letrec");
    init_keyword(&kw.letrec_star, "letrec*");
    init_keyword(&kw.begin, "begin");
    init_keyword(&kw.cond, "cond");
    init_keyword(&kw.case_, "case");
    init_keyword(&kw.and_, "and");
    init_keyword(&kw.or_, "or");
    init_keyword(&kw.when, "when");
    init_keyword(&kw.unless, "unless");
    init_keyword(&kw.do_, "do");
    init_keyword(&kw.else_, "else");
    kw.do_loop = make_uninterned_symbol("do-loop");
    init_keyword(&kw.arrow, "=>");
    init_keyword(&kw.define_record_type, "define-record-type");
    init_keyword(&kw.define_values, "define-values");
    init_keyword(&kw.let_values, "let-values");
    init_keyword(&kw.let_star_values, "let*-values");
    init_keyword(&kw.guard, "guard");
    init_keyword(&kw.delay, "delay");
    init_keyword(&kw.delay_force, "delay-force");
    init_keyword(&kw.make_promise_kw, "make-promise");
    init_keyword(&kw.import, "import");
    init_keyword(&kw.define_syntax, "define-syntax");
    init_keyword(&kw.let_syntax, "let-syntax");
    init_keyword(&kw.letrec_syntax, "letrec-syntax");
    init_keyword(&kw.syntax_rules, "syntax-rules");
    init_keyword(&kw.case_lambda, "case-lambda");
    init_keyword(&kw.parameterize, "parameterize");
    prim_cons = SYM(intern_c("cons"))->global;
    prim_list = SYM(intern_c("list"))->global;
    prim_list_to_vector = SYM(intern_c("list->vector"))->global;
    prim_append2 = SYM(intern_c("append"))->global;
    prim_raise = SYM(intern_c("raise-continuable"))->global;
    prim_make_rtd = SYM(intern_c("%make-record-type"))->global;
    prim_rec_ctor = SYM(intern_c("%record-constructor"))->global;
    prim_rec_pred = SYM(intern_c("%record-predicate"))->global;
    prim_rec_acc = SYM(intern_c("%record-accessor"))->global;
    prim_rec_mod = SYM(intern_c("%record-modifier"))->global;
}
