/* Compiled code: the tree the compiler makes from a form and the evaluator walks.
 *
 * Nodes live outside the heap for the whole run. Variables are resolved at compile time:
 * a local variable is (depth, index) in the chain of frames, a global is its symbol.
 * Each scope the compiler opens (a lambda's parameters and internal definitions, a
 * let's variables, a guard's condition variable) is one frame at run time. */
#ifndef GCVM_SCHEME_CODE_H
#define GCVM_SCHEME_CODE_H

#include "scheme.h"

enum node_op {
    N_CONST,         /* k */
    N_LOCAL0,        /* slot index of the current frame */
    N_LOCAL1,        /* slot index of the parent frame */
    N_LOCAL,         /* slot index, depth frames up */
    N_GLOBAL,        /* k: the symbol */
    N_SET_LOCAL,     /* a: value; depth, index */
    N_SET_GLOBAL,    /* a: value; k: symbol (must be bound) */
    N_DEFINE_GLOBAL, /* a: value; k: symbol */
    N_IF,            /* a: test, b: then, c: else */
    N_SEQ,           /* kids, last one in tail position */
    N_LAMBDA,        /* lam */
    N_CALL,          /* a: procedure, kids: arguments */
    N_AND,           /* kids */
    N_OR,            /* kids */
    N_LET,           /* kids: inits in the outer frame; index: frame size; a: body */
    N_LETREC,        /* kids: inits in the new frame, slot i gets init i; a: body */
    N_NAMED_LET,     /* lam: the loop procedure (a: its N_LAMBDA), kids: inits */
    N_COND_ARROW,    /* a: test, b: receiver, c: else (NULL: unspecified) */
    N_CASE,          /* a: key, k: vector of datum lists (#f: else), kids: bodies,
                        flags[i]: 1 when body i is a => receiver */
    N_GUARD,         /* a: body, b: handler in a 1-slot frame holding the condition */
    N_BIND_VALUES,   /* a: expression; nreq, rest; depth -1: globals listed in k,
                        else slots index.. of the current frame */
    N_LET_VALUES,    /* kids: expressions in the outer frame, bound in order to the new
                        frame's slots by formals (flags: nreq<<1|rest); a: body */
    N_DELAY,         /* lam: the promise's thunk (a: its N_LAMBDA); index 1: delay-force */
    N_CASE_LAMBDA,   /* kids: N_LAMBDA nodes, tried in order by argument count */
    N_PARAMETERIZE,  /* kids: parameter, value, parameter, value...; a: body */
    N_UNSPEC
};

struct lambda {
    int nreq;       /* required parameters */
    int rest;       /* 1 when the last parameter takes the remaining arguments */
    int frame_size; /* parameters + internal definitions */
    struct node *body;
    value name; /* a symbol, or #f */
    uint64_t loc;
};

struct node {
    uint8_t op;
    uint16_t nkids;
    int32_t depth, index;
    int32_t nreq, rest;
    uint64_t loc;
    value k;
    struct node *a, *b, *c;
    struct node **kids;
    int32_t *flags;
    struct lambda *lam;
};

#endif
