/* How a heap with a gcvm barrier treats the thread's mode.
 *
 *   test_guest_mode enter BARRIER    creating the heap puts the thread in guest mode, and
 *                                    destroying it takes the thread back; a thread that
 *                                    was in guest mode already stays there
 *   test_guest_mode leave BARRIER    a store made in host mode between two collections
 *                                    (the mutator left guest mode) is not lost
 *   test_guest_mode leave-thread BARRIER
 *                                    the same store made by a second mutator thread while
 *                                    another one collects: each thread's stay in guest
 *                                    mode is checked on its own, and a thread attaching
 *                                    from host mode is put in guest mode; where it cannot
 *                                    be (a forked child), the attach fails in one line
 *   test_guest_mode unusable         with no usable engine both barriers are unavailable
 *                                    and gc_heap_create says why in one line
 *   test_guest_mode auto             auto never picks a gcvm barrier on an emulated ring 0,
 *                                    and calibrates them on hardware
 * Exits 77 when the barrier is not available on this machine. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "gcvm/gcvm.h"
#include "test_util.h"

enum { KIND_NODE = 1 };

struct node {
    uint64_t value;
    struct node *next;
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct node *)obj)->next, ctx);
}

static struct gc_heap *new_heap(enum gc_barrier_kind kind, char *err, size_t err_len)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)8 << 20;
    cfg.nursery_bytes = (size_t)256 << 10;
    cfg.verify = 1;
    struct gc_heap *h = gc_heap_create(&cfg, err, err_len);
    if (h)
        CHECK(gc_register_kind(h, KIND_NODE, trace_node) == 0);
    return h;
}

static void test_enter(enum gc_barrier_kind kind)
{
    char err[512];
    CHECK(!gcvm_in_guest());
    struct gc_heap *a = new_heap(kind, err, sizeof err);
    CHECK_MSG(a != NULL, "%s", err);
    CHECK_MSG(gcvm_in_guest(), "gc_heap_create did not enter guest mode");
    struct gc_heap *b = new_heap(kind, err, sizeof err);
    CHECK_MSG(b != NULL, "%s", err);
    gc_heap_destroy(a);
    CHECK_MSG(gcvm_in_guest(), "destroying one of two heaps left guest mode");
    gc_heap_destroy(b);
    CHECK_MSG(!gcvm_in_guest(), "destroying the last heap did not leave guest mode");

    /* Entered by the program: the collector leaves the mode alone. */
    CHECK(gcvm_enter() == 0);
    a = new_heap(kind, err, sizeof err);
    CHECK_MSG(a != NULL, "%s", err);
    gc_heap_destroy(a);
    CHECK_MSG(gcvm_in_guest(), "the collector left a guest mode it had not entered");
    CHECK(gcvm_exit() == 0);
    puts("PASS");
}

static void test_leave(enum gc_barrier_kind kind)
{
    char err[512];
    struct gc_heap *h = new_heap(kind, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    static struct node *root;
    struct gc_mutator *m = attach_or_fail(h);
    CHECK(gc_root_add(h, (void **)&root) == 0);
    root = gc_alloc(m, KIND_NODE, sizeof *root);
    root->value = 1;
    gc_collect(m, GC_COLLECT_MINOR); /* root is old, its page tracked */
    for (int round = 0; round < 2; round++) {
        /* The mutator leaves guest mode, stores a young pointer into the old object,
         * and collects from host mode (round 0) or after entering again (round 1). */
        struct node *young = gc_alloc(m, KIND_NODE, sizeof *young);
        young->value = 42 + (uint64_t)round;
        CHECK(gcvm_exit() == 0);
        root->next = young;
        gc_write_barrier(m, &root->next);
        if (round == 1)
            CHECK(gcvm_enter() == 0);
        gc_collect(m, GC_COLLECT_MINOR);
        CHECK_MSG(gcvm_in_guest(), "the collection did not put the mutator back in guest mode");
        CHECK_MSG(root->next != young && root->next->value == 42 + (uint64_t)round,
                  "the store made in host mode was lost (round %d)", round);
        /* Tracking works again afterwards: this store is seen through guest mode. */
        young = gc_alloc(m, KIND_NODE, sizeof *young);
        young->value = 7;
        root->next->next = young;
        gc_write_barrier(m, &root->next->next);
        gc_collect(m, GC_COLLECT_MINOR);
        CHECK(root->next->next->value == 7);
    }
    gc_heap_destroy(h);
    CHECK(!gcvm_in_guest());
    puts("PASS");
}

/* The second mutator: attaches from host mode, makes a young object, leaves guest mode
 * and stores it into the old one, then waits at safepoints while the first collects. */
static struct gc_heap *shared_heap;
static struct node *old_node;
static _Atomic int stored, collected;
static int attached_in_guest = -1, back_in_guest = -1;

static void *store_from_host_mode(void *arg)
{
    (void)arg;
    CHECK(!gcvm_in_guest()); /* created in host mode */
    struct gc_mutator *m = attach_or_fail(shared_heap);
    attached_in_guest = gcvm_in_guest();
    struct node *young = gc_alloc(m, KIND_NODE, sizeof *young);
    young->value = 42;
    CHECK(gcvm_exit() == 0);
    old_node->next = young;
    gc_write_barrier(m, &old_node->next);
    atomic_store(&stored, 1);
    while (!atomic_load(&collected))
        gc_safepoint(m); /* stops there, in host mode, for the other thread's collection */
    back_in_guest = gcvm_in_guest();
    gc_mutator_detach(m);
    return NULL;
}

static void test_leave_thread(enum gc_barrier_kind kind)
{
    char err[512];
    shared_heap = new_heap(kind, err, sizeof err);
    CHECK_MSG(shared_heap != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(shared_heap);
    CHECK(gc_root_add(shared_heap, (void **)&old_node) == 0);
    old_node = gc_alloc(m, KIND_NODE, sizeof *old_node);
    old_node->value = 1;
    gc_collect(m, GC_COLLECT_MINOR); /* old_node is old, its page tracked */
    CHECK(gcvm_set_thread_start(GCVM_THREADS_HOST) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, store_from_host_mode, NULL) == 0);
    while (!atomic_load(&stored))
        gc_safepoint(m);
    CHECK(gcvm_set_thread_start(GCVM_THREADS_GUEST) == 0);
    gc_collect(m, GC_COLLECT_MINOR); /* this thread stayed in guest mode; the other not */
    CHECK_MSG(old_node->next != NULL && old_node->next->value == 42,
              "the other mutator's store made in host mode was lost");
    atomic_store(&collected, 1);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_MSG(attached_in_guest == 1, "attaching did not put the second mutator in guest mode");
    CHECK_MSG(back_in_guest == 1,
              "the safepoint did not put the second mutator back in guest mode");
    gc_collect(m, GC_COLLECT_MINOR);
    CHECK(old_node->next->value == 42);

    /* A forked child has the heap's memory but not the engine's VM: its thread, in host
     * mode, cannot enter guest mode, so attaching fails and says why in one line. */
    gc_mutator_detach(m);
    fflush(stdout);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        char why[512] = "";
        struct gc_mutator *c = gc_mutator_attach(shared_heap, why, sizeof why);
        printf("attach in a forked child: %s\n", why);
        fflush(stdout);
        _exit(c == NULL && strstr(why, "cannot put the thread in guest mode") &&
                      strstr(why, "forked child") && !strchr(why, '\n')
                  ? 0
                  : 1);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "attaching in a forked child did not fail with its one-line reason");
    gc_heap_destroy(shared_heap);
    CHECK(!gcvm_in_guest());
    puts("PASS");
}

static void test_unusable(void)
{
    /* Before the engine is first used: it reads GCVM_BACKEND once. */
    setenv("GCVM_BACKEND", "no-such-backend", 1);
#if defined(__SANITIZE_ADDRESS__)
    const char *cause = "sanitizers"; /* a sanitizer build says that first */
#else
    const char *cause = "GCVM_BACKEND";
#endif
    const enum gc_barrier_kind kinds[] = {GC_BARRIER_GCVM_DIRTY, GC_BARRIER_GCVM_PROTECT};
    for (size_t i = 0; i < 2; i++) {
        char why[512], err[512];
        CHECK(!gc_barrier_available(kinds[i], why, sizeof why));
        CHECK_MSG(strstr(why, cause) != NULL, "reason: %s", why);
        CHECK(new_heap(kinds[i], err, sizeof err) == NULL);
        CHECK_MSG(strstr(err, "not available") && strstr(err, cause) && !strchr(err, '\n'),
                  "error: %s", err);
        printf("%s: %s\n", gc_barrier_name(kinds[i]), err);
    }
    CHECK(!gcvm_in_guest());
    puts("PASS");
}

static void test_auto(void)
{
    char err[512];
    skip_unless_available(GC_BARRIER_GCVM_DIRTY);
    struct gcvm_info info;
    CHECK(gcvm_init() == 0 && gcvm_get_info(&info) == 0);
    struct gc_heap *h = new_heap(GC_BARRIER_AUTO, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    enum gc_barrier_kind chosen = gc_heap_barrier(h);
    const char *reason = gc_heap_barrier_reason(h);
    printf("ring 0 %s; auto chose %s: %s\n", info.hardware ? "on hardware" : "emulated",
           gc_barrier_name(chosen), reason);
    if (!info.hardware) {
        CHECK(chosen != GC_BARRIER_GCVM_DIRTY && chosen != GC_BARRIER_GCVM_PROTECT);
        CHECK(strstr(reason, "gcvm-dirty skipped (ring 0 is emulated here)") &&
              strstr(reason, "gcvm-protect skipped (ring 0 is emulated here)"));
    } else {
        CHECK(strstr(reason, "gcvm-dirty") && !strstr(reason, "gcvm-dirty skipped") &&
              strstr(reason, "gcvm-protect") && !strstr(reason, "gcvm-protect skipped"));
    }
    gc_heap_destroy(h);
    CHECK(!gcvm_in_guest());
    puts("PASS");
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "unusable") == 0) {
        test_unusable();
    } else if (strcmp(what, "auto") == 0) {
        test_auto();
    } else if (strcmp(what, "enter") == 0 || strcmp(what, "leave") == 0 ||
               strcmp(what, "leave-thread") == 0) {
        enum gc_barrier_kind kind = barrier_from_args(argc - 1, argv + 1);
        if (strcmp(what, "enter") == 0)
            test_enter(kind);
        else if (strcmp(what, "leave") == 0)
            test_leave(kind);
        else
            test_leave_thread(kind);
    } else {
        fprintf(stderr, "usage: %s enter|leave|leave-thread BARRIER | unusable | auto\n", argv[0]);
        return 2;
    }
    return 0;
}
