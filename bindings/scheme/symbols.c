/* Symbols: interned, outside the heap, alive for the whole run. A symbol carries its
 * top-level binding, so a global variable reference is one load. */
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

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

value intern(const char *name, size_t len)
{
    if (nsymbols >= nbuckets)
        grow();
    uint32_t h = hash_name(name, len);
    for (struct symbol *s = buckets[h & (nbuckets - 1)]; s; s = s->next_in_bucket)
        if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
            return (value)s;
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
    return (value)s;
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
    for (size_t i = 0; i < nbuckets; i++)
        for (struct symbol *s = buckets[i]; s; s = s->next_in_bucket) {
            if (POINTER_P(s->global))
                fn(&s->global, ctx);
            if (POINTER_P(s->macro))
                fn(&s->macro, ctx);
        }
}
