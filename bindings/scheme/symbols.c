/* Symbols. Those of program text (the reader of source files), the compiler and the
 * built-ins live outside the heap for the whole run. Those string->symbol and the `read`
 * procedure make at run time live in the heap, in a table that holds them weakly: a
 * symbol nothing references any more is reclaimed, and one still referenced keeps its
 * identity (docs/scheme.md, "Symbols").
 * A symbol carries its top-level binding, so a global variable reference is one load; a
 * heap symbol with a binding or a macro is held strongly. On Boehm GC the weak reference
 * is a hidden pointer registered as a disappearing link. */
#include <gc/gc.h>
#include <gcvm/gc-weak.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

/* Both tables are shared by the threads under this lock, which is never held across an
 * allocation (a new heap symbol is made before it is taken, and dropped if another thread
 * made one of the same name meanwhile): so interning never lets a collection run, and a
 * collection, which reads the tables (symbols_visit) with every thread stopped at a
 * safepoint, never finds them half changed. */
static pthread_mutex_t symbols_lock = PTHREAD_MUTEX_INITIALIZER;
static struct symbol **buckets;
static size_t nbuckets, nsymbols;

static uint32_t hash_name(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void grow(void)
{
    size_t n = nbuckets ? nbuckets * 2 : 1024;
    struct symbol **b = calloc(n, sizeof(struct symbol *));
    if (!b) {
        fprintf(stderr, "gcvm-scheme: out of memory interning a symbol\n");
        exit(70);
    }
    for (size_t i = 0; i < nbuckets; i++) {
        struct symbol *s = buckets[i];
        while (s) {
            struct symbol *next = s->next_in_bucket;
            s->next_in_bucket = b[s->hash & (n - 1)];
            b[s->hash & (n - 1)] = s;
            s = next;
        }
    }
    free(buckets);
    buckets = b;
    nbuckets = n;
}

static bool same_name(const struct symbol *s, uint32_t h, const char *name, size_t len)
{
    return s->hash == h && s->len == len && memcmp(s->name, name, len) == 0;
}

/* ---- Symbols in the heap ---- */

/* One per heap symbol: a weak reference to it (a root, so the reference object itself
 * lives), and the symbol itself while it has a binding or a macro (see symbols_visit). */
struct heap_entry {
    value weak;
    value strong;
    uint32_t hash;
    struct heap_entry *next;
};
static struct heap_entry **heap_buckets;
static size_t heap_nbuckets, heap_count;

#define HEAP_SYMBOL 1u /* the length field of a heap symbol's type word */

bool symbol_in_heap(value v)
{
    return SYMBOL_P(v) && HDR_LEN(v) == HEAP_SYMBOL;
}

static value entry_symbol(const struct heap_entry *e)
{
    if (scm_use_boehm) /* Boehm clears the link when the symbol dies */
        return e->weak ? (value)GC_REVEAL_POINTER(e->weak) : FALSE_V;
    void *s = gc_weak_ref_get((void *)e->weak);
    return s ? (value)s : FALSE_V;
}

void symbol_set_global(value sym, value v)
{
    SYM(sym)->global = v;
    if (symbol_in_heap(sym)) /* a field of a heap object: the barrier must know */
        gc_write_barrier(scm_mut, &SYM(sym)->global);
}

void symbol_set_macro(value sym, value v)
{
    SYM(sym)->macro = v;
    if (symbol_in_heap(sym))
        gc_write_barrier(scm_mut, &SYM(sym)->macro);
}

/* The heap symbol named so, or #f; unlinks the entries of reclaimed symbols on the way. */
static value heap_lookup(uint32_t h, const char *name, size_t len)
{
    if (!heap_nbuckets)
        return FALSE_V;
    for (struct heap_entry **link = &heap_buckets[h & (heap_nbuckets - 1)]; *link;) {
        struct heap_entry *e = *link;
        value s = entry_symbol(e);
        if (s == FALSE_V) {
            *link = e->next;
            free(e);
            heap_count--;
            continue;
        }
        if (same_name(SYM(s), h, name, len))
            return s;
        link = &e->next;
    }
    return FALSE_V;
}

/* Before the table grows: unlink every reclaimed symbol, then double it if it is still
 * more than half full. */
static void heap_table_make_room(void)
{
    for (size_t b = 0; b < heap_nbuckets; b++)
        for (struct heap_entry **link = &heap_buckets[b]; *link;) {
            struct heap_entry *e = *link;
            if (entry_symbol(e) != FALSE_V) {
                link = &e->next;
                continue;
            }
            *link = e->next;
            free(e);
            heap_count--;
        }
    if (heap_count < heap_nbuckets / 2)
        return;
    size_t n = heap_nbuckets ? 2 * heap_nbuckets : 1024;
    struct heap_entry **fresh = calloc(n, sizeof(struct heap_entry *));
    if (!fresh) {
        fprintf(stderr, "gcvm-scheme: out of memory for the symbol table\n");
        exit(70);
    }
    for (size_t b = 0; b < heap_nbuckets; b++)
        while (heap_buckets[b]) {
            struct heap_entry *e = heap_buckets[b];
            heap_buckets[b] = e->next;
            e->next = fresh[e->hash & (n - 1)];
            fresh[e->hash & (n - 1)] = e;
        }
    free(heap_buckets);
    heap_buckets = fresh;
    heap_nbuckets = n;
}

/* A new heap symbol and its table entry, not in the table yet. Made without symbols_lock
 * (it allocates); no allocation comes between it and the entry's insertion, so no
 * collection can miss the weak reference meanwhile. name must not point into the heap. */
static struct heap_entry *new_heap_entry(uint32_t h, const char *name, size_t len)
{
    struct heap_entry *e = calloc(1, sizeof *e);
    size_t bytes = sizeof(struct symbol) + len + 1;
    struct symbol *s = !e              ? NULL
                       : scm_use_boehm ? GC_MALLOC(bytes)
                                       : gc_alloc(scm_mut, T_SYMBOL, bytes);
    if (!s) {
        free(e);
        scm_error("out of memory: the heap is full (use --heap=SIZE for a larger one)", NIL);
    }
    s->hdr = MAKE_HDR(T_SYMBOL, HEAP_SYMBOL);
    s->hash = h;
    s->len = (uint32_t)len;
    memcpy(s->name, name, len);
    if (scm_use_boehm) {
        e->weak = (value)GC_HIDE_POINTER(s);
        if (GC_general_register_disappearing_link((void **)&e->weak, s) != GC_SUCCESS) {
            free(e);
            scm_error("out of memory registering a symbol with Boehm GC", NIL);
        }
    } else {
        void *weak = gc_alloc_weak_ref(scm_mut, 0, s); /* keeps s alive meanwhile */
        if (!weak) {
            free(e);
            scm_error("out of memory: the heap is full (use --heap=SIZE for a larger one)", NIL);
        }
        e->weak = (value)weak;
    }
    e->hash = h;
    return e;
}

/* Links a new entry into the table; with symbols_lock held. */
static void insert_heap_entry(struct heap_entry *e)
{
    if (heap_count >= heap_nbuckets)
        heap_table_make_room();
    e->next = heap_buckets[e->hash & (heap_nbuckets - 1)];
    heap_buckets[e->hash & (heap_nbuckets - 1)] = e;
    heap_count++;
}

/* An entry another thread's symbol of the same name made useless: its symbol is garbage. */
static void drop_heap_entry(struct heap_entry *e)
{
    if (scm_use_boehm)
        GC_unregister_disappearing_link((void **)&e->weak);
    free(e);
}

/* A copy of a name outside the heap: small names on the caller's stack. */
struct name_copy {
    char small[256];
    char *name;
};

static const char *copy_name(struct name_copy *c, const char *name, size_t len)
{
    c->name = len < sizeof c->small ? c->small : malloc(len + 1);
    if (!c->name)
        scm_error("out of memory outside the heap for a symbol's name", NIL);
    memcpy(c->name, name, len);
    c->name[len] = 0;
    return c->name;
}

static void free_name(struct name_copy *c)
{
    if (c->name != c->small)
        free(c->name);
}

/* The symbol outside the heap named so, or #f; with symbols_lock held. */
static value table_lookup(uint32_t h, const char *name, size_t len)
{
    if (nbuckets)
        for (struct symbol *s = buckets[h & (nbuckets - 1)]; s; s = s->next_in_bucket)
            if (same_name(s, h, name, len))
                return (value)s;
    return FALSE_V;
}

value intern_in_heap(const char *name, size_t len)
{
    uint32_t h = hash_name(name, len);
    pthread_mutex_lock(&symbols_lock);
    value found = table_lookup(h, name, len);
    if (found == FALSE_V)
        found = heap_lookup(h, name, len);
    pthread_mutex_unlock(&symbols_lock);
    if (found != FALSE_V)
        return found;
    struct heap_entry *e = new_heap_entry(h, name, len);
    pthread_mutex_lock(&symbols_lock);
    found = table_lookup(h, name, len); /* another thread may have made it meanwhile */
    if (found == FALSE_V)
        found = heap_lookup(h, name, len);
    if (found == FALSE_V) {
        insert_heap_entry(e);
        found = entry_symbol(e);
        e = NULL;
    }
    pthread_mutex_unlock(&symbols_lock);
    if (e)
        drop_heap_entry(e);
    return found;
}

value intern_at_run_time(value str)
{
    /* The name is the string's UTF-8, outside the heap (interning may move the string). */
    size_t nchars = STRING_LEN(str), len = string_utf8_length(str, 0, nchars);
    struct name_copy c;
    c.name = len < sizeof c.small ? c.small : malloc(len + 1);
    if (!c.name)
        scm_error("out of memory outside the heap for a symbol's name", NIL);
    string_encode_utf8(str, 0, nchars, c.name);
    c.name[len] = 0;
    value found = intern_in_heap(c.name, len);
    free_name(&c);
    return found;
}

static bool form_has_heap_symbol(value v, int depth)
{
    for (; depth < 10000 && PAIR_P(v); v = CDR(v), depth++)
        if (form_has_heap_symbol(CAR(v), depth + 1))
            return true;
    if (VECTOR_P(v))
        for (size_t i = 0; i < VLEN(v); i++)
            if (form_has_heap_symbol(VREF(v, i), depth + 1))
                return true;
    return symbol_in_heap(v);
}

value symbols_settle(value form)
{
    if (scm_use_boehm) /* Boehm: never moves */
        return form;
    pthread_mutex_lock(&symbols_lock);
    size_t count = heap_count;
    pthread_mutex_unlock(&symbols_lock);
    if (count == 0 || !form_has_heap_symbol(form, 0))
        return form;
    vs_push(form);
    gc_collect(scm_mut, GC_COLLECT_MINOR);
    return vs[--vsp];
}

/* ---- Symbols outside the heap ---- */

value intern(const char *name, size_t len)
{
    struct name_copy c;
    name = copy_name(&c, name, len);
    uint32_t h = hash_name(name, len);
    pthread_mutex_lock(&symbols_lock);
    if (nsymbols >= nbuckets)
        grow();
    value found = table_lookup(h, name, len);
    if (found == FALSE_V)
        found = heap_lookup(h, name, len);
    if (found == FALSE_V) {
        struct symbol *s = perm_alloc(sizeof *s + len + 1);
        s->hdr = MAKE_HDR(T_SYMBOL, 0);
        s->global = UNASSIGNED;
        s->macro = UNASSIGNED;
        s->hash = h;
        s->len = (uint32_t)len;
        memcpy(s->name, name, len);
        s->next_in_bucket = buckets[h & (nbuckets - 1)];
        buckets[h & (nbuckets - 1)] = s;
        nsymbols++;
        found = (value)s;
    }
    pthread_mutex_unlock(&symbols_lock);
    free_name(&c);
    return found;
}

value make_uninterned_symbol(const char *name)
{
    size_t len = strlen(name);
    struct symbol *s = perm_alloc(sizeof *s + len + 1);
    s->hdr = MAKE_HDR(T_SYMBOL, 0);
    s->global = UNASSIGNED;
    s->macro = UNASSIGNED;
    s->hash = hash_name(name, len);
    s->len = (uint32_t)len;
    memcpy(s->name, name, len);
    return (value)s;
}

value intern_c(const char *name)
{
    return intern(name, strlen(name));
}

void symbols_visit(void (*fn)(value *slot, void *ctx), void *ctx)
{
    for (size_t b = 0; b < heap_nbuckets; b++)
        for (struct heap_entry *e = heap_buckets[b]; e; e = e->next) {
            /* Read before the reference object is visited (and perhaps moved). */
            value s = entry_symbol(e);
            bool bound =
                s != FALSE_V && (SYM(s)->global != UNASSIGNED || SYM(s)->macro != UNASSIGNED);
            e->strong = bound ? s : FALSE_V;
            fn(&e->weak, ctx);
            if (bound)
                fn(&e->strong, ctx);
        }
    for (size_t i = 0; i < nbuckets; i++)
        for (struct symbol *s = buckets[i]; s; s = s->next_in_bucket) {
            if (POINTER_P(s->global))
                fn(&s->global, ctx);
            if (POINTER_P(s->macro))
                fn(&s->macro, ctx);
        }
}
