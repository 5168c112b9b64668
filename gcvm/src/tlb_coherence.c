/* TLB coherence between vCPUs: once a call that lowered a page's access or cleared its
 * dirty or accessed bit returns, no vCPU can still use what its TLB cached before.
 * docs/engine.md ("TLB coherence") gives the argument; in short:
 *
 * - A global shootdown generation. Every vCPU remembers the generation its TLB was last
 *   flushed for; before each KVM_RUN its thread compares, and on a difference makes the
 *   guest's first instructions a flush (a frame like an exception's, on the vCPU's
 *   flush stack: gcvm_guest_flush_entry).
 * - Each vCPU's run_state: odd while its thread is inside KVM_RUN. The thread stores it
 *   before reading the generation; a shootdown increments the generation before reading
 *   the states (both sequentially consistent). So a vCPU the shootdown sees outside
 *   KVM_RUN reads the new generation before it runs again, and one it sees inside is
 *   kicked: a signal whose handler sets immediate_exit, so that KVM_RUN returns even if
 *   the signal came just before it. The shootdown waits until that vCPU's run_state
 *   changes: the KVM_RUN that may have used old translations is over. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "vcpu.h"

static uint64_t generation = 1; /* a taken vCPU's 0 always differs */
static uint64_t shootdowns;
static __thread struct vcpu *running; /* the vCPU this thread's run loop runs */

int tlb_kick_signal(void)
{
    return SIGRTMAX - 1;
}

static void on_kick(int sig)
{
    (void)sig;
    struct vcpu *v = running;
    if (v)
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELAXED);
}

int tlb_init(char *err, size_t err_len)
{
    struct sigaction sa = {.sa_handler = on_kick, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (sigaction(tlb_kick_signal(), &sa, NULL) != 0) {
        snprintf(err, err_len, "cannot install the vCPU kick signal's handler: %s",
                 strerror(errno));
        return -errno;
    }
    return 0;
}

void tlb_vcpu_taken(struct vcpu *v)
{
    v->flushed_generation = 0;
    v->tid = gettid();
}

/* Makes the guest flush its TLB before anything else: enters gcvm_guest_flush_entry as
 * an exception would, unless that flush is still ahead. A flush interrupted after its
 * CR3 write (a signal, a kick) gets a second frame on top, which runs first. */
static void arm_flush(struct vcpu *v)
{
    struct kvm_regs r;
    vcpu_get_regs(v, &r);
    if (r.rip >= (uint64_t)gcvm_guest_flush_entry && r.rip < (uint64_t)gcvm_guest_flush_done)
        return;
    uint64_t top = v->flush_stack_top;
    bool nested = r.rsp <= top && r.rsp > top - VCPU_FLUSH_STACK_BYTES;
    uint64_t *sp = (uint64_t *)((nested ? r.rsp : top) & ~15ull);
    *--sp = SEL_DATA;
    *--sp = r.rsp;
    *--sp = r.rflags;
    *--sp = SEL_CODE;
    *--sp = r.rip;
    *--sp = 0; /* error code */
    *--sp = GCVM_VECTOR_FLUSH;
    r.rsp = (uint64_t)sp;
    r.rip = (uint64_t)gcvm_guest_flush_entry;
    r.rflags = 2; /* interrupts off: no signal frame is built inside it */
    vcpu_set_regs(v, &r);
}

void tlb_before_run(struct vcpu *v)
{
    running = v;
    __atomic_store_n(&v->run_state, v->run_state | 1, __ATOMIC_SEQ_CST);
    uint64_t now = __atomic_load_n(&generation, __ATOMIC_SEQ_CST);
    if (v->flushed_generation != now) {
        arm_flush(v);
        v->flushed_generation = now;
    }
}

void tlb_after_run(struct vcpu *v)
{
    __atomic_store_n(&v->run_state, (v->run_state | 1) + 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Kicks v out of the KVM_RUN in which it was seen (state) and waits until it is out. The
 * kick is repeated now and then: it costs nothing if the first one worked. */
static void kick_and_wait(const struct vcpu *v, uint64_t state)
{
    pid_t pid = getpid();
    uint64_t kicked_at = 0;
    while (__atomic_load_n(&v->run_state, __ATOMIC_SEQ_CST) == state) {
        uint64_t now = now_ms();
        if (now - kicked_at >= 100) {
            syscall(SYS_tgkill, pid, v->tid, tlb_kick_signal());
            kicked_at = now;
        }
        sched_yield();
    }
}

void tlb_shootdown(const struct vcpu *self)
{
    /* self flushes at its next KVM_RUN, before the guest runs again */
    __atomic_add_fetch(&generation, 1, __ATOMIC_SEQ_CST);
    COUNT(shootdowns);
    for (unsigned i = 0;; i++) {
        const struct vcpu *v = engine_vcpu_at(i);
        if (!v)
            break;
        if (v == self)
            continue;
        uint64_t state = __atomic_load_n(&v->run_state, __ATOMIC_SEQ_CST);
        if (state & 1)
            kick_and_wait(v, state);
    }
}

uint64_t tlb_shootdowns(void)
{
    return __atomic_load_n(&shootdowns, __ATOMIC_RELAXED);
}
