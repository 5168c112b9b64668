/* The mprotect barrier shares SIGSEGV with the program: a handler the program installed
 * before creating the heap still gets the faults that are not the collector's, and gets
 * its signal back when the heap is destroyed. */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

static char *own_page;
static volatile int own_faults;

static void own_handler(int sig, siginfo_t *info, void *uctx)
{
    (void)sig;
    (void)uctx;
    if ((char *)info->si_addr >= own_page && (char *)info->si_addr < own_page + 4096) {
        own_faults++;
        mprotect(own_page, 4096, PROT_READ | PROT_WRITE);
        return;
    }
    _exit(3); /* a fault nobody expected */
}

struct node {
    void *slot;
    uint64_t value;
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    visit(&((struct node *)obj)->slot, ctx);
}

int main(void)
{
    skip_unless_available(GC_BARRIER_MPROTECT);
    own_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(own_page != MAP_FAILED);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);

    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = GC_BARRIER_MPROTECT;
    cfg.heap_max_bytes = (size_t)32 << 20;
    cfg.nursery_bytes = (size_t)256 << 10;
    cfg.verify = 1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    gc_register_kind(h, 1, trace_node);
    void *root = gc_alloc(m, 1, sizeof(struct node));
    CHECK(gc_root_add(h, &root) == 0);
    gc_collect(m, GC_COLLECT_MINOR); /* root is old now, and write-protected */

    for (int round = 0; round < 20; round++) {
        struct node *young = gc_alloc(m, 1, sizeof(struct node));
        young->value = (uint64_t)round;
        ((struct node *)root)->slot = young; /* faults into the collector's handler */
        gc_write_barrier(m, &((struct node *)root)->slot);
        own_page[round] = 1; /* faults into the program's handler, through ours */
        mprotect(own_page, 4096, PROT_NONE);
        gc_collect(m, GC_COLLECT_MINOR);
        CHECK(((struct node *)((struct node *)root)->slot)->value == (uint64_t)round);
    }
    struct gc_stats s;
    gc_get_stats(h, &s);
    CHECK_MSG(own_faults == 20, "the program's handler saw %d of 20 faults", own_faults);
    CHECK_MSG(s.barrier_traps >= 20, "the collector saw %llu traps",
              (unsigned long long)s.barrier_traps);
    gc_heap_destroy(h);

    struct sigaction now;
    sigaction(SIGSEGV, NULL, &now);
    CHECK_MSG(now.sa_sigaction == own_handler, "the program's handler was not restored");
    own_page[0] = 2;
    CHECK(own_faults == 21);
    puts("PASS");
    return 0;
}
