/* Identity hashes that survive evacuation (docs/collector.md, "Weak objects and identity
 * hashes"). An old object never moves, so its address is its hash. A young object may
 * move once, at its promotion: the first hash request flags its header (HDR_HASHED), and
 * promotion then appends one granule to the copy that holds the hash computed from the
 * young address (HDR_HASH_STORED). */
#include <string.h>

#include "gc_internal.h"
#include "gcvm/gc-weak.h"

/* Spreads the address bits: payloads are 8-byte aligned and neighbours differ in few
 * bits (the finalizer of MurmurHash3's 64-bit variant). */
static uint64_t mix_address(uintptr_t a)
{
    uint64_t x = (uint64_t)a;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t *stored_hash_word(const gc_header *hp)
{
    return (uint64_t *)((char *)hp + header_size(*hp) - GC_GRANULE);
}

uint64_t gc_object_hash(struct gc_heap *h, const void *obj)
{
    if (((uintptr_t)obj & 7u) != 0 || !in_region(h, obj))
        return mix_address((uintptr_t)obj);
    gc_header *hp = header_of(obj);
    if (*hp & HDR_HASH_STORED)
        return *stored_hash_word(hp);
    if (h->blocks[block_index(h, obj)].kind == BLOCK_NURSERY)
        __atomic_fetch_or(hp, (gc_header)HDR_HASHED, __ATOMIC_RELAXED); /* any thread may ask */
    return mix_address((uintptr_t)obj);
}

void identity_hash_store(char *copy_header, size_t old_total, const void *old_payload)
{
    gc_header *hp = (gc_header *)copy_header;
    size_t total = old_total + GC_GRANULE;
    *hp = (*hp & 0xffffu & ~(gc_header)HDR_HASHED) | ((gc_header)total << 16) | HDR_HASH_STORED;
    uint64_t hash = mix_address((uintptr_t)old_payload);
    memcpy(copy_header + old_total, &hash, sizeof hash);
    memset(copy_header + old_total + sizeof hash, 0, GC_GRANULE - sizeof hash);
}

size_t identity_hash_payload_extra(gc_header hdr)
{
    return (hdr & HDR_HASH_STORED) ? GC_GRANULE : 0;
}
