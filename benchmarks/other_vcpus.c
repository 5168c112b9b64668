/* The guest-mode microbenchmarks' other mutators (other_vcpus.h). */
#define _GNU_SOURCE
#include "other_vcpus.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gcvm/gcvm.h"

#define MAX_OTHERS 16

struct other {
    pthread_t thread;
    bool guest;
    int failed; /* 1 when it could not enter guest mode */
    _Alignas(4096) volatile uint64_t page[512];
};

static struct other others[MAX_OTHERS];
static int running;
static int stop, started;

static void *write_until_stopped(void *arg)
{
    struct other *o = arg;
    if (o->guest && gcvm_enter() != 0) {
        o->failed = 1;
        __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    uint64_t n = 0;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        o->page[(n * 8) % 512] = n; /* writes, as a mutator's would */
        n++;
    }
    if (o->guest)
        gcvm_exit();
    return NULL;
}

int other_vcpus_start(int count, bool guest)
{
    if (count > MAX_OTHERS) {
        fprintf(stderr, "other vCPUs: at most %d\n", MAX_OTHERS);
        return -1;
    }
    __atomic_store_n(&stop, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&started, 0, __ATOMIC_SEQ_CST);
    for (running = 0; running < count; running++) {
        struct other *o = &others[running];
        o->guest = guest;
        o->failed = 0;
        int rc = pthread_create(&o->thread, NULL, write_until_stopped, o);
        if (rc != 0) {
            fprintf(stderr, "other vCPUs: cannot start a thread: %s\n", strerror(rc));
            other_vcpus_stop();
            return -1;
        }
    }
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < count)
        sched_yield();
    for (int i = 0; i < count; i++)
        if (others[i].failed) {
            fprintf(stderr, "other vCPUs: a thread cannot enter guest mode: %s\n",
                    gcvm_last_error());
            other_vcpus_stop();
            return -1;
        }
    return 0;
}

void other_vcpus_stop(void)
{
    __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < running; i++)
        pthread_join(others[i].thread, NULL);
    running = 0;
}
