/* The guest's view of the process: guest-virtual address == host-virtual address, but
 * guest-physical addresses are handed out independently, so the layout fits any
 * MAXPHYADDR (docs/engine.md, "Address layout").
 *
 * A host mapping gets a KVM memory slot the first time one of its pages is touched in
 * guest mode: guest-physical range [gpa, gpa+size) -> host range [hva, hva+size). Page
 * tables (4-level, 4 KiB pages) live in a pool that is itself a slot; their entries are
 * created lazily, from the host's /proc/self/maps, when the guest first touches a page.
 * A slot is never deleted: KVM follows the host's page tables through the slot's host
 * range, so a range that is unmapped and mapped again is still served by it; only the
 * guest's page-table entries are dropped when the host's mapping changes. */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "engine.h"

#define POOL_BYTES ((uint64_t)256 << 20) /* page tables for 128 GiB of 4 KiB pages */
#define POOL_GPA ((uint64_t)1 << 30)
#define FIRST_SLOT_GPA ((uint64_t)2 << 30)

struct slot {
    uint64_t hva, size, gpa;
};

struct host_mapping {
    uint64_t start, end;
    bool readable, writable, executable;
};

static int vm_fd;
static uint64_t gpa_limit, next_gpa = FIRST_SLOT_GPA;
static struct slot *slots;
static size_t slot_count, slot_capacity;
static uint64_t pool_used;

static struct host_mapping *maps;
static size_t map_count, map_capacity;

static uint64_t *pool_table(uint64_t gpa)
{
    return (uint64_t *)(gcvm_shared.pool_hva + (gpa - gcvm_shared.pool_gpa));
}

static int new_table(uint64_t *gpa_out)
{
    if (pool_used + PAGE > POOL_BYTES)
        return -ENOMEM;
    uint64_t gpa = gcvm_shared.pool_gpa + pool_used;
    pool_used += PAGE;
    memset(pool_table(gpa), 0, PAGE);
    *gpa_out = gpa;
    return 0;
}

/* The entry for va in the last-level table, creating tables on the way. */
static uint64_t *pte_for(uint64_t va)
{
    uint64_t *table = pool_table(gcvm_shared.pml4_gpa);
    for (int level = 3; level > 0; level--) {
        uint64_t *entry = &table[(va >> (12 + 9 * level)) & 511];
        if (!(*entry & PTE_P)) {
            uint64_t gpa;
            if (new_table(&gpa) != 0)
                return NULL;
            *entry = gpa | PTE_P | PTE_RW;
        }
        table = pool_table(*entry & PTE_ADDR);
    }
    return &table[(va >> 12) & 511];
}

/* The entry for va if its tables exist, else NULL. */
static uint64_t *pte_if_present(uint64_t va)
{
    uint64_t *table = pool_table(gcvm_shared.pml4_gpa);
    for (int level = 3; level > 0; level--) {
        uint64_t entry = table[(va >> (12 + 9 * level)) & 511];
        if (!(entry & PTE_P))
            return NULL;
        table = pool_table(entry & PTE_ADDR);
    }
    return &table[(va >> 12) & 511];
}

/* The host side serves a guest fault on the faulting thread, whose guest code may hold a
 * lock of the C library's malloc (a thread's arena grows by mprotect, then its new page
 * is touched): nothing here may call malloc. Arrays grow with mmap instead. Doubles
 * *capacity (from first) and moves the *count elements of size bytes; false if out of
 * memory. */
static bool grow(void **array, size_t *capacity, size_t count, size_t size, size_t first)
{
    size_t cap = *capacity ? *capacity * 2 : first;
    void *bigger =
        mmap(NULL, cap * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bigger == MAP_FAILED)
        return false;
    if (*array) {
        memcpy(bigger, *array, count * size);
        munmap(*array, *capacity * size);
    }
    *array = bigger;
    *capacity = cap;
    return true;
}

static int add_slot(uint64_t hva, uint64_t size, uint64_t gpa)
{
    if (slot_count == slot_capacity &&
        !grow((void **)&slots, &slot_capacity, slot_count, sizeof *slots, 64))
        return -ENOMEM;
    struct kvm_userspace_memory_region region = {
        .slot = (uint32_t)slot_count,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = hva,
    };
    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) != 0)
        return -errno;
    size_t at = slot_count;
    while (at > 0 && slots[at - 1].hva > hva) {
        slots[at] = slots[at - 1];
        at--;
    }
    slots[at] = (struct slot){hva, size, gpa};
    slot_count++;
    return 0;
}

static struct slot *slot_containing(uint64_t va)
{
    size_t lo = 0, hi = slot_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (va < slots[mid].hva)
            hi = mid;
        else if (va >= slots[mid].hva + slots[mid].size)
            lo = mid + 1;
        else
            return &slots[mid];
    }
    return NULL;
}

/* A slot for the part of [start, end) around va that no slot covers yet. */
static struct slot *slot_for(uint64_t va, uint64_t start, uint64_t end)
{
    struct slot *s = slot_containing(va);
    if (s)
        return s;
    for (size_t i = 0; i < slot_count; i++) {
        uint64_t s_lo = slots[i].hva, s_hi = slots[i].hva + slots[i].size;
        if (s_hi <= va && s_hi > start)
            start = s_hi;
        if (s_lo > va && s_lo < end)
            end = s_lo;
    }
    uint64_t size = end - start;
    if (next_gpa + size > gpa_limit)
        return NULL; /* the guest's physical address space is full */
    if (add_slot(start, size, next_gpa) != 0)
        return NULL;
    next_gpa += size;
    return slot_containing(va);
}

/* The start, end and permissions of one line of /proc/self/maps; false if malformed. */
static bool parse_maps_line(const char *line, const char *end, struct host_mapping *m)
{
    uint64_t v[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        const char *digits = line;
        for (; line < end; line++) {
            unsigned d = (unsigned)(*line >= 'a' ? *line - 'a' + 10 : *line - '0');
            if (d > 15)
                break;
            v[i] = v[i] << 4 | d;
        }
        if (line == digits || line == end || *line++ != (i == 0 ? '-' : ' '))
            return false;
    }
    if (end - line < 3)
        return false;
    *m = (struct host_mapping){.start = v[0],
                               .end = v[1],
                               .readable = line[0] == 'r',
                               .writable = line[1] == 'w',
                               .executable = line[2] == 'x'};
    return true;
}

/* Reads /proc/self/maps without stdio or malloc (see grow), under aspace_lock. */
static int reload_maps(void)
{
    static char buffer[64 * 1024];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    map_count = 0;
    size_t held = 0; /* bytes of an unfinished line at the start of buffer */
    for (;;) {
        ssize_t n = read(fd, buffer + held, sizeof buffer - held);
        if (n <= 0)
            break;
        held += (size_t)n;
        char *line = buffer, *stop = buffer + held, *nl;
        while ((nl = memchr(line, '\n', (size_t)(stop - line))) != NULL) {
            struct host_mapping m;
            if (parse_maps_line(line, nl, &m)) {
                if (map_count == map_capacity &&
                    !grow((void **)&maps, &map_capacity, map_count, sizeof *maps, 256)) {
                    close(fd);
                    return -ENOMEM;
                }
                maps[map_count++] = m;
            }
            line = nl + 1;
        }
        held = (size_t)(stop - line);
        memmove(buffer, line, held);
        if (held == sizeof buffer) /* a line longer than the buffer: skip it */
            held = 0;
    }
    close(fd);
    return 0;
}

static const struct host_mapping *mapping_of(uint64_t va, bool reload)
{
    if (reload && reload_maps() != 0)
        return NULL;
    size_t lo = 0, hi = map_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (va < maps[mid].start)
            hi = mid;
        else if (va >= maps[mid].end)
            lo = mid + 1;
        else
            return &maps[mid];
    }
    return NULL;
}

static int map_page(uint64_t va, const struct host_mapping *m, bool writable)
{
    struct slot *s = slot_for(va, m->start, m->end);
    if (!s)
        return -ENOSPC;
    uint64_t *pte = pte_for(va);
    if (!pte)
        return -ENOMEM;
    if (*pte & (PTE_P | PTE_PROTECTED))
        return 0; /* already there, or protected by the program: keep its bits */
    __atomic_store_n(pte,
                     (s->gpa + (va - s->hva)) | PTE_P | (writable ? PTE_RW | PTE_HOST_WRITABLE : 0),
                     __ATOMIC_RELEASE);
    return 0;
}

/* Every vCPU's thread serves its own faults: the tables, slots and cached map are
 * changed under this lock. The guest reads the tables meanwhile; an entry is written
 * whole, once the table it points to is ready. */
static pthread_mutex_t aspace_lock = PTHREAD_MUTEX_INITIALIZER;

static int populate_locked(uint64_t addr, uint64_t len, bool write)
{
    for (uint64_t va = addr & ~(PAGE - 1); va < addr + len; va += PAGE) {
        const struct host_mapping *m = mapping_of(va, false);
        /* The cached map may be older than the mapping: a page it does not have, or has
         * without the access asked for, may have been mapped or opened since (a heap of a
         * thread's malloc arena grows by mprotect). Read it again before refusing. */
        if (!m || !(m->readable || m->executable) || (write && !m->writable))
            m = mapping_of(va, true);
        if (!m || !(m->readable || m->executable))
            return -EFAULT;
        if (write && !m->writable)
            return -EACCES;
        int rc = map_page(va, m, m->writable);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int aspace_populate(uint64_t addr, uint64_t len, bool write)
{
    pthread_mutex_lock(&aspace_lock);
    int rc = populate_locked(addr, len, write);
    pthread_mutex_unlock(&aspace_lock);
    return rc;
}

int aspace_map_eager(uint64_t addr, uint64_t len, bool writable)
{
    uint64_t start = addr & ~(PAGE - 1), end = (addr + len + PAGE - 1) & ~(PAGE - 1);
    struct host_mapping m = {.start = start, .end = end, .readable = true, .writable = writable};
    int rc = 0;
    pthread_mutex_lock(&aspace_lock);
    for (uint64_t va = start; va < end && rc == 0; va += PAGE)
        rc = map_page(va, &m, writable);
    pthread_mutex_unlock(&aspace_lock);
    return rc;
}

/* The lock is held across the system call: were the entries forgotten only after it,
 * another thread could map a page of the freed range for a new owner (eagerly, for a
 * vCPU's tables that no fault may find absent) in between, and the invalidation would
 * then take that page away; and a vCPU could still reach the range's new owner through
 * an entry of the old mapping. */
void aspace_change_begin(void)
{
    pthread_mutex_lock(&aspace_lock);
}

void aspace_forget(uint64_t addr, uint64_t len)
{
    for (uint64_t va = addr & ~(PAGE - 1); va < addr + len; va += PAGE) {
        uint64_t *pte = pte_if_present(va);
        if (pte)
            __atomic_store_n(pte, 0, __ATOMIC_SEQ_CST);
    }
}

uint64_t aspace_host_mapping_end(uint64_t addr)
{
    const struct host_mapping *m = mapping_of(addr, true);
    return m ? m->end : addr;
}

void aspace_change_end(void)
{
    map_count = 0; /* the next lookup reads /proc/self/maps again */
    pthread_mutex_unlock(&aspace_lock);
}

uint64_t *aspace_pte(uint64_t va)
{
    return pte_if_present(va);
}

uint64_t aspace_memslots(void)
{
    return slot_count;
}

int aspace_init(int vm, unsigned phys_bits, char *err, size_t err_len)
{
    vm_fd = vm;
    gpa_limit = phys_bits >= 64 ? UINT64_MAX : (uint64_t)1 << phys_bits;
    char *pool = mmap(NULL, POOL_BYTES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pool == MAP_FAILED) {
        snprintf(err, err_len, "cannot reserve the page-table pool: %s", strerror(errno));
        return -ENOMEM;
    }
    gcvm_shared.pool_hva = pool;
    gcvm_shared.pool_gpa = POOL_GPA;
    int rc = add_slot((uint64_t)pool, POOL_BYTES, POOL_GPA);
    if (rc != 0) {
        snprintf(err, err_len, "KVM refused the page-table pool's memory slot: %s", strerror(-rc));
        return rc;
    }
    if (new_table(&gcvm_shared.pml4_gpa) != 0)
        return -ENOMEM;
    /* The pool is mapped in the guest at its host address, so the guest can walk its own
     * tables (gcvm_dirty_harvest, gcvm_protect). The slot above already covers it. */
    struct host_mapping m = {.start = (uint64_t)pool,
                             .end = (uint64_t)pool + POOL_BYTES,
                             .readable = true,
                             .writable = true};
    for (uint64_t va = m.start; va < m.end; va += PAGE) {
        rc = map_page(va, &m, true);
        if (rc != 0) {
            snprintf(err, err_len, "cannot map the page-table pool: %s", strerror(-rc));
            return rc;
        }
    }
    return 0;
}
