/* gcvm-scheme: values, object layouts and the interfaces between the interpreter's parts.
 *
 * A value is one machine word:
 *   ...xxx1  a fixnum (63-bit signed integer)
 *   ...x010  an immediate: #f #t () unspecified eof default (payload in the upper bits)
 *   ...x110  a character (code point in the upper bits)
 *   ...x000  a pointer to an object (0 is the "unassigned" marker of a variable)
 * Every object starts with a word holding its type in the low 8 bits; the rest of that
 * word holds a length (vectors, strings, ...) or a source location (pairs made by the
 * reader). Objects live in the collector's heap (or Boehm's with --gc=boehm), except
 * symbols and primitives, which live for the whole run outside it. The collector ignores
 * every word that is not the address of a heap object, so a generic trace visits every
 * word after the type word. */
#ifndef GCVM_SCHEME_H
#define GCVM_SCHEME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uintptr_t value;

/* ---- Immediates ---- */
#define FIXNUM_P(v) (((v)&1u) != 0)
#define MAKE_FIX(n) ((value)(((uintptr_t)(intptr_t)(n) << 1) | 1u))
#define FIX(v) ((intptr_t)(v) >> 1)
#define FIX_MAX (INTPTR_MAX >> 1)
#define FIX_MIN (INTPTR_MIN >> 1)
#define IMMEDIATE(n) ((value)(((uintptr_t)(n) << 3) | 2u))
#define UNASSIGNED ((value)0)
#define FALSE_V IMMEDIATE(0)
#define TRUE_V IMMEDIATE(1)
#define NIL IMMEDIATE(2)
#define UNSPEC IMMEDIATE(3)
#define EOF_V IMMEDIATE(4)
#define DEFAULT_V IMMEDIATE(5) /* an optional argument that was not given */
#define BOOL(c) ((c) ? TRUE_V : FALSE_V)
#define CHAR_P(v) (((v)&7u) == 6u)
#define MAKE_CHAR(c) ((value)(((uintptr_t)(c) << 3) | 6u))
#define CHAR_CODE(v) ((uint32_t)((v) >> 3))
static inline bool pointer_p(value v)
{
    return (v & 7u) == 0 && v != 0;
}
#define POINTER_P(v) pointer_p(v)

/* ---- Objects ---- */
enum obj_type {
    T_PAIR = 1,
    T_FLONUM,
    T_STRING,
    T_SYMBOL, /* outside the heap */
    T_VECTOR,
    T_BYTEVECTOR,
    T_CLOSURE,
    T_PRIMITIVE, /* outside the heap */
    T_FRAME,     /* a closure's variables */
    T_RECORD,
    T_RECORD_TYPE,
    T_RECORD_PROC, /* constructor, predicate, accessor or modifier of a record type */
    T_VALUES,      /* zero or several return values */
    T_ERROR,       /* an error object made by error or by the runtime */
    T_PORT,
    T_CONTINUATION, /* escape-only */
    T_PROMISE,
    T_PARAMETER,
    T_CASE_LAMBDA, /* [hdr(n) | closure...]: the first whose arity fits is applied */
    T_BIGNUM,      /* an exact integer outside the fixnum range (numbers.h) */
    T_RATNUM,      /* an exact non-integer rational (numbers.h) */
    T_HASH_TABLE,  /* [hdr(weak) | equivalence | hash | count | buckets]: prims_hash.c */
    T_EPHEMERON,   /* [hdr | key | datum]: the collector's ephemeron (weak.c) */
    T_GUARDIAN,    /* [hdr | the collector's record]: applicable, see weak.c */
    T_THREAD,      /* SRFI-18 objects (threads.c) */
    T_MUTEX,
    T_CONDVAR,
    T_TYPE_COUNT
};

#define OBJ(v) ((value *)(v))
#define HDR(v) (OBJ(v)[0])
#define TYPE_OF_HDR(h) ((unsigned)((h)&0xffu))
#define OBJ_TYPE(v) TYPE_OF_HDR(HDR(v))
static inline bool is_type(value v, unsigned type)
{
    return pointer_p(v) && OBJ_TYPE(v) == type;
}
#define IS(v, t) is_type((v), (t))
#define MAKE_HDR(type, len) ((value)(type) | ((value)(len) << 8))
#define HDR_LEN(v) ((size_t)(HDR(v) >> 8))

/* Pair: [hdr | car | cdr]; the reader puts the datum's location in hdr's upper bits:
 * file index (16 bits), line (24), column (16). */
#define CAR(p) (OBJ(p)[1])
#define CDR(p) (OBJ(p)[2])
#define PAIR_P(v) IS(v, T_PAIR)
#define LOC_MAKE(file, line, col)                                                                  \
    (((uint64_t)(file) << 40) | ((uint64_t)(line) << 16) | (uint64_t)(col))
#define PAIR_LOC(p) ((uint64_t)(HDR(p) >> 8))

/* Flonum: [hdr | double], pointer-free. */
#define FLONUM_P(v) IS(v, T_FLONUM)
static inline double flonum_value(value v)
{
    double d;
    __builtin_memcpy(&d, &OBJ(v)[1], sizeof d);
    return d;
}
/* String: [hdr(len) | characters...], pointer-free. Each character is its Unicode code
 * point in 32 bits (UTF-32), so string-ref and string-set! take constant time for every
 * character. Text crosses every boundary (ports, symbol names, file names, C strings) as
 * UTF-8, through the helpers of text.c below. */
#define STRING_P(v) IS(v, T_STRING)
#define STRING_LEN(v) HDR_LEN(v)
#define STRING_CHARS(v) ((uint32_t *)&OBJ(v)[1])
/* Vector: [hdr(len) | items...]; records, frames and value lists share the layout. */
#define VECTOR_P(v) IS(v, T_VECTOR)
#define VLEN(v) HDR_LEN(v)
#define VREF(v, i) (OBJ(v)[1 + (i)])
#define BYTEVECTOR_P(v) IS(v, T_BYTEVECTOR)
#define BV_BYTES(v) ((uint8_t *)&OBJ(v)[1])
/* Frame: [hdr(nslots) | parent frame | slots...]. */
#define FRAME_PARENT(f) (OBJ(f)[1])
#define FRAME_SLOT(f, i) (OBJ(f)[2 + (i)])
/* Closure: [hdr | struct node * (the lambda, outside the heap) | frame]. */
#define CLOSURE_P(v) IS(v, T_CLOSURE)
#define CLOSURE_LAMBDA(c) ((struct node *)OBJ(c)[1])
#define CLOSURE_ENV(c) (OBJ(c)[2])
/* Record: [hdr(nfields) | record type | fields...]. Record type: [hdr | name | field
 * names (a vector) | uid fixnum]. */
#define RECORD_TYPE_OF(r) (OBJ(r)[1])
#define RECORD_FIELD(r, i) (OBJ(r)[2 + (i)])
/* Record procedure: [hdr(kind) | record type | field index or index vector]. */
enum record_proc_kind { RP_CONSTRUCTOR, RP_PREDICATE, RP_ACCESSOR, RP_MODIFIER };
/* Error object: [hdr | kind symbol | message string | irritants list | location fixnum]. */
#define ERR_KIND(e) (OBJ(e)[1])
#define ERR_MESSAGE(e) (OBJ(e)[2])
#define ERR_IRRITANTS(e) (OBJ(e)[3])
#define ERR_LOCATION(e) (OBJ(e)[4])
/* Promise: [hdr | done (#t/#f) | value or thunk]. Parameter: [hdr | value | converter]. */
/* Continuation: [hdr | catch-frame index | catch-frame serial]. */

struct symbol {
    value hdr;
    value global; /* the top-level binding, UNASSIGNED if none */
    value macro;  /* (syntax-rules ...) when the name is a macro, else UNASSIGNED */
    struct symbol *next_in_bucket;
    uint32_t hash;
    uint32_t len;
    char name[];
};
#define SYMBOL_P(v) IS(v, T_SYMBOL)
#define SYM(v) ((struct symbol *)(v))

typedef value (*prim_fn)(int argc, value *argv);
struct primitive {
    value hdr;
    prim_fn fn;
    const char *name;
    int16_t min_args, max_args; /* max -1: any number */
    int special;                /* PRIM_APPLY: applied by the evaluator (tail call) */
};
#define PRIM_APPLY 1
#define PRIM(v) ((struct primitive *)(v))

/* ---- Memory (memory.c) ---- */
enum gc_choice { USE_GCVM, USE_BOEHM };
struct memory_options {
    enum gc_choice gc;
    int boehm_incremental;
    const char *barrier; /* NULL: the collector's default (GCVM_BARRIER, else auto) */
    size_t heap_bytes;   /* 0: default */
    size_t nursery_bytes;
    int vm;
};
/* Creates the heap for the calling thread; on failure writes a one-line reason.
 * scm_use_boehm must already say which collector (perm_alloc depends on it). */
int memory_init(const struct memory_options *opt, char *err, size_t errlen);
void memory_finish(void);
/* Allocates an object of `words` words after the type word, zeroed, with its type word
 * set. Raises a Scheme out-of-memory error when the heap is full. */
value alloc_object_slow(unsigned type, size_t len_field, size_t words, int pointerfree);
value alloc_bytes(unsigned type, size_t len_field, size_t nbytes); /* pointer-free */
/* Memory outside the heap that lives for the whole run (symbols, code). */
void *perm_alloc(size_t bytes);
extern struct gc_heap *scm_heap;
#include <gcvm/gc.h>
/* State of one interpreter thread: every Scheme thread has its own (threads.c). The
 * initial-exec model makes an access one %fs-relative load, as cheap as a global. */
#define SCM_THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))
/* The calling thread as the heap's mutator. */
extern SCM_THREAD_LOCAL struct gc_mutator *scm_mut;
/* Stores v into a field of a heap object, then tells the write barrier. With --gc=boehm
 * scm_mut is a stand-in whose card table is NULL, so the barrier does nothing. */
#define SET(objv, field, v)                                                                        \
    do {                                                                                           \
        value *f_ = &(field);                                                                      \
        *f_ = (v);                                                                                 \
        gc_write_barrier(scm_mut, f_);                                                             \
    } while (0)
extern int scm_use_boehm;
static inline value alloc_object(unsigned type, size_t len_field, size_t words)
{
    if (__builtin_expect(!scm_use_boehm, 1)) {
        value *p = gc_alloc(scm_mut, type, (words + 1) * sizeof(value));
        if (__builtin_expect(p != NULL, 1)) {
            p[0] = MAKE_HDR(type, len_field);
            return (value)p;
        }
    }
    return alloc_object_slow(type, len_field, words, 0);
}
/* Registers the address of a word outside the heap (in code) that holds a value. */
void register_constant(value *where);
/* Collector statistics and the statistics line for --stats. */
void memory_print_stats(FILE *out);
double memory_gc_ms(void);
double memory_max_pause_ms(void);
uint64_t memory_collections(void);
const char *memory_describe(void);

/* Makes the calling thread an interpreter thread: its value stack (value_stack_entries
 * words reserved, touched as used), its runtime roots (all NIL), its mutator and its root
 * tracer. Returns 0, or -1 with a one-line reason in err. memory_init does it for the
 * first thread. */
int memory_thread_attach(size_t value_stack_entries, char *err, size_t errlen);
/* Undoes memory_thread_attach; the thread's objects stay in the heap. */
void memory_thread_detach(void);
/* Runs fn(arg) for a thread that is about to block (a lock, a sleep, a read): the
 * collector goes on meanwhile, so fn must not touch heap objects, and values the caller
 * holds in C variables may have moved when it returns. */
void scm_blocking(void (*fn)(void *), void *arg);
/* Takes a lock that other interpreter threads may hold across an allocation: waits for it
 * in a blocking region (see scm_blocking). Returns 1 if it had to wait (heap objects may
 * have moved), 0 if it got it at once. */
int scm_lock(void *pthread_mutex);

/* The value stack: every value the C code holds across an allocation lives here. */
extern SCM_THREAD_LOCAL value *vs;
extern SCM_THREAD_LOCAL size_t vsp, vs_size;
static inline void vs_push(value v)
{
    extern void vs_overflow(void);
    if (__builtin_expect(vsp >= vs_size, 0))
        vs_overflow();
    vs[vsp++] = v;
}

/* Roots kept by the runtime for each thread: the handler stack, the dynamic-wind list,
 * the parameterize bindings, ports. */
enum runtime_root {
    ROOT_HANDLERS,
    ROOT_WINDS,
    ROOT_STDIN,
    ROOT_STDOUT,
    ROOT_STDERR,
    ROOT_CUR_IN,
    ROOT_CUR_OUT,
    ROOT_CUR_ERR,
    ROOT_COMMAND_LINE,
    ROOT_SCRATCH,
    ROOT_PARAMS, /* ((parameter . value) ...) of the enclosing parameterize forms */
    ROOT_THREAD, /* the thread's SRFI-18 thread object, #f until asked for */
    ROOT_COUNT
};
extern SCM_THREAD_LOCAL value runtime_roots[ROOT_COUNT];

/* ---- Weak objects and identity hashes, on either collector (weak.c) ---- */
/* A hash of v's identity that a collection does not change (objects that move carry it). */
uint64_t identity_hash(value v);
/* An ephemeron: datum is kept only while key is reachable otherwise. Broken ones read
 * #f for key and datum. */
value make_ephemeron(value key, value datum);
bool ephemeron_broken(value e);
value ephemeron_key(value e);
value ephemeron_datum(value e);
/* Guardians (Guile, Chez): raises an error naming the procedure on Boehm GC. */
value make_guardian(void);
void guardian_register(value g, value obj);
value guardian_next(value g); /* #f when none is queued */
void collect_full(void);
void prims_hash_init(void);
void prims_weak_init(void);

/* ---- Symbols (symbols.c) ---- */
value intern(const char *name, size_t len);
value intern_c(const char *name);
/* string->symbol: a new symbol lives in the heap and is reclaimed when nothing references
 * it. */
value intern_at_run_time(value str);
/* The same from a name that is not in the heap (the reader of data's buffer): the symbol
 * of that name, a new heap one when none exists. May collect. */
value intern_in_heap(const char *name, size_t len);
bool symbol_in_heap(value v);
/* Stores a symbol's top-level binding or macro (through the write barrier when the symbol
 * is in the heap). */
void symbol_set_global(value sym, value v);
void symbol_set_macro(value sym, value v);
/* Code must not hold a symbol that may still move: before a form is compiled, a minor
 * collection promotes the heap symbols in it (after which they never move). Returns the
 * form, which may have moved. */
value symbols_settle(value form);
/* A symbol no program can name (for the compiler's hidden variables). */
value make_uninterned_symbol(const char *name);
void symbols_visit(void (*fn)(value *slot, void *ctx), void *ctx);

/* ---- Constructors and helpers (objects.c) ---- */
value cons(value a, value d);
value make_flonum(double d);
value make_vector(size_t len, value fill);
value list_from_stack(size_t base, size_t n, value tail); /* vs[base..base+n) */
long list_length(value l);                                /* -1 if improper or circular */
value make_error(const char *kind, const char *msg, value irritants);
void define_global(const char *name, value v);
value define_primitive(const char *name, prim_fn fn, int min, int max);

/* ---- Strings and UTF-8 (text.c) ---- */
#define UTF8_MAX 4              /* bytes of the longest encoded character */
#define REPLACEMENT_CHAR 0xfffd /* what invalid UTF-8 decodes to */
/* Writes c's UTF-8 encoding (1 to UTF8_MAX bytes) to out; returns its length. */
size_t utf8_encode(uint32_t c, char *out);
/* Decodes the character that starts at p (n > 0 bytes there) into *c and returns how many
 * bytes it took. A malformed, overlong, surrogate or truncated sequence decodes as
 * REPLACEMENT_CHAR and takes one byte, so decoding never fails and always advances. */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *c);
/* How many bytes utf8_decode takes for a sequence whose first byte is b0 when it is well
 * formed (1 for a byte that cannot start one). */
size_t utf8_sequence_length(unsigned char b0);
/* A new string of len characters, all c. May collect. */
value make_string_filled(size_t len, uint32_t c);
/* A new string holding the characters of the UTF-8 text bytes[0, n) (which must not be in
 * the heap: the allocation may move it). May collect. */
value string_from_utf8(const char *bytes, size_t n);
/* How many bytes the UTF-8 encoding of s[start, end) takes. */
size_t string_utf8_length(value s, size_t start, size_t end);
/* Encodes s[start, end) as UTF-8 into out, which has string_utf8_length bytes; returns
 * that length. Allocates nothing. */
size_t string_encode_utf8(value s, size_t start, size_t end, char *out);
/* The UTF-8 encoding of s[start, end) in a new malloc'd buffer, NUL-terminated; its length
 * in *n. Raises an out-of-memory error (the buffer is not leaked). Allocates nothing in
 * the heap. */
char *string_to_utf8(value s, size_t start, size_t end, size_t *n);
/* The UTF-8 encoding of the whole of s into buf (cap bytes) with a NUL after it, for the C
 * library (file names, environment variables). Raises an error naming who when it does not
 * fit or when s holds a NUL character (which C would take for the end). */
void string_to_c_string(const char *who, value s, char *buf, size_t cap);
/* Case mappings and classes of a character: simple (one character to one) mappings. The
 * Latin-1, Latin Extended-A, Greek and Cyrillic letters are mapped by text.c's own
 * rules, every other character by the C library's C.UTF-8 locale when it has one. */
uint32_t char_upcase(uint32_t c);
uint32_t char_downcase(uint32_t c);
uint32_t char_foldcase(uint32_t c);
bool char_alphabetic_p(uint32_t c);
bool char_upper_case_p(uint32_t c);
bool char_lower_case_p(uint32_t c);
bool char_whitespace_p(uint32_t c); /* Unicode's White_Space property */
/* Writes s[start, end) to port as UTF-8 (s may move meanwhile: it is kept on the value
 * stack). */
void port_write_string(value port, value s, size_t start, size_t end);

/* ---- Reader (reader.c) ---- */
struct reader {
    const char *text;
    size_t len, pos;
    int line, col;
    int file;       /* index into the table of source names */
    int incomplete; /* set when the text ended inside a datum */
    /* 1: a new symbol lives in the heap and is reclaimed when nothing references it, as
     * string->symbol's (the `read` procedure: data); 0: it lives as long as the run
     * (program text, which compiled code keeps anyway). */
    int heap_symbols;
};
void reader_init(struct reader *r, const char *text, size_t len, int file);
/* Reads one datum into *out; returns 1, 0 at the end of the text, or raises a read error
 * (with r->incomplete set when the text ended in the middle of a datum). */
int read_datum(struct reader *r, value *out);
int source_file_index(const char *name);
const char *source_file_name(int index);
/* "file:line:col" for a location word, into buf. */
const char *format_location(uint64_t loc, char *buf, size_t len);

/* ---- Printer (printer.c) ---- */
void write_value(value port, value v, int display);

/* ---- Compiler and evaluator (compiler.c, eval.c) ---- */
struct node;
/* Expands the form's macros (macros.c), then compiles it. */
struct node *compile_toplevel(value form);
value expand_macros(value form);
void macros_init(void);
/* Whether (import NAME) names a built-in library, such as (scheme base). */
bool library_available(value name);
/* (cond-expand clause...) as (begin body...) of the first clause whose requirement holds
 * (features.c); (include "file" ...) as (begin forms...) of the files (load.c). */
value cond_expand_select(value form);
value include_forms(value form);
value eval(struct node *n, value env);
value eval_toplevel(value form);
/* Applies the procedure at vs[vsp-argc-1] to the argc values above it, pops them all and
 * returns the result. */
value apply_on_stack(int argc);
value apply1(value f, value a);
value apply0(value f);
/* Raises obj (the R7RS raise); raise_continuable returns the handler's value. */
__attribute__((noreturn)) void scm_raise(value obj);
value scm_raise_continuable(value obj);
/* Raises an error object made from msg and irritants (a list). */
__attribute__((noreturn)) void scm_error(const char *msg, value irritants);
__attribute__((noreturn)) void scm_error1(const char *msg, value irritant);
__attribute__((noreturn)) void type_error(const char *who, const char *expected, value got);
__attribute__((noreturn)) void arity_error(value proc, int argc);
void eval_init(size_t stack_bytes);
/* Runs fn(arg) with a top-level catch: returns 0; 1 after printing the uncaught
 * condition to stderr (the message, irritants and source location) unless
 * scm_error_output_suppressed; 2 when the program called exit (scm_exit_requested()
 * gives the code). */
int run_protected(void (*fn)(void *), void *arg);
extern int scm_error_output_suppressed;
/* As run_protected, but an uncaught condition is not printed: it returns 1 with the
 * condition pushed on the value stack. */
int run_protected_keep(void (*fn)(void *), void *arg);
int scm_exit_requested(void);
/* (exit code): runs the pending dynamic-wind after thunks, then leaves through the
 * outermost run_protected. */
__attribute__((noreturn)) void scm_exit(int code);
extern SCM_THREAD_LOCAL uint64_t current_location;
/* Frees what the calling thread's evaluator state holds outside the heap. */
void eval_thread_finish(void); /* of the call being made, for error reports */
/* Writes an uncaught condition to the standard error port: location, message, irritants. */
void print_condition(value c);
void stack_check_reset(void);

/* ---- Ports (ports.c) ---- */
value make_file_port(FILE *f, int input, const char *name);
/* A port reading the characters of the string str, or the UTF-8 bytes of the bytevector
 * str. */
value make_string_input_port(value str);
value make_string_output_port(void);
/* The next character's code point (-1 at the end), taken or only looked at: UTF-8 is
 * decoded, an invalid byte reading as U+FFFD. */
int port_getc(value port);
int port_peekc(value port);
void port_write(value port, const char *bytes, size_t n);
void port_puts(value port, const char *s);
void port_flush(value port);
void flush_standard_ports(void);

/* ---- Primitive sets ---- */
void prims_numbers_init(void);
void prims_lists_init(void);
void prims_strings_init(void);
void prims_vectors_init(void);
void prims_io_init(void);
void prims_binary_io_init(void);
void features_init(void);
void load_init(void);
void ports_init(void); /* the standard ports: once the heap exists */
void prims_control_init(void);
void prims_system_init(void);
/* SRFI-18 (threads.c). threads_configure: the stack size of the threads to come. */
void prims_threads_init(void);
void threads_configure(size_t stack_bytes);
/* Scheme threads started and not yet ended (the first thread not counted). */
int threads_running(void);

/* Every primitive and the compiler's keywords; needs no heap (main.c calls it before
 * creating one). */
void define_builtins(void);
void compiler_init(void);

/* Argument checking helpers for primitives. */
/* The optional [start [end]] arguments at argv[first], checked against len. */
void range_args(const char *who, int argc, const value *argv, int first, size_t len, size_t *start,
                size_t *end);
intptr_t arg_fixnum(const char *who, value v);
size_t arg_index(const char *who, value v, size_t limit);
double arg_number_double(const char *who, value v);
bool values_eqv(value a, value b);
bool procedure_p(value v); /* anything apply accepts */
bool values_equal(value a, value b);
/* Free what the calling thread's equal? (its table for cyclic structures) and read (its
 * text) hold outside the heap. */
void equal_thread_finish(void);
void read_thread_finish(void);
value number_to_string(value n, int radix);
value string_to_number(const char *s, size_t len, int radix);
bool number_p(value v);

#endif
