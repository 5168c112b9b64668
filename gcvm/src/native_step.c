/* Instructions an emulated ring 0 cannot execute, run natively one at a time.
 *
 * On the development machines guest ring 0 is run by KVM's instruction emulator, which
 * executes no SSE, AVX or XSAVE instruction (docs/engine.md). glibc uses them everywhere
 * (memcpy, strlen, printf). When the emulator gives up on an instruction, the engine runs
 * that one instruction in host mode with the guest's registers and the trap flag set,
 * catches the single-step trap, and continues in guest mode with the registers the
 * instruction left. The vector registers live in a buffer of the engine's meanwhile: the
 * emulated guest never touches them, so between steps nothing else can.
 *
 * The step goes through the kernel twice: rt_sigreturn loads every register (vector ones
 * included, from an XSAVE area in the kernel's signal-frame format), and the debug trap
 * comes back as SIGTRAP, whose handler reads them all out again. A memory operand of the
 * instruction is reflected in the guest's page tables afterwards (accessed and dirty
 * bits), and a page protected with gcvm_protect() is faulted in guest mode first
 * (guest_operand.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine.h"
#include "vcpu.h"

#define XSTATE_BYTES 4096
#define RFLAGS_TF (1ull << 8)
#define USER_CS 0x33

/* The vector state's format: the kernel's signal frame (FXSAVE area with the XSAVE magic
 * words, then the XSAVE header and components), as the first trap showed it. Each vCPU
 * keeps its own state in that format (vcpu.h: step_xstate), starting from this one. */
static _Alignas(64) uint8_t xstate_template[XSTATE_BYTES];
static size_t xstate_bytes; /* 0: stepping is not set up */
_Static_assert(XSTATE_BYTES == VCPU_STEP_XSTATE_BYTES, "vcpu.h");

/* Read by the SIGTRAP handler: volatile, as for any flag a signal handler reads. */
static __thread volatile bool capturing, stepping;
static __thread struct vcpu *stepped;      /* the vCPU whose instruction runs */
static __thread uint64_t mask_before_step; /* the thread's mask; SIGTRAP open for the step */

static size_t frame_xstate_bytes(const struct _libc_fpstate *fp)
{
    /* struct _fpx_sw_bytes lives in the FXSAVE area's software-reserved bytes (464..511):
     * magic1, extended_size (XSAVE area + the trailing magic2). */
    const uint32_t *sw = (const uint32_t *)((const char *)fp + 464);
    if (sw[0] != 0x46505853u) /* FP_XSTATE_MAGIC1: a plain FXSAVE area */
        return 512;
    return sw[1];
}

static void on_step_trap(int sig, siginfo_t *info, void *context)
{
    (void)info;
    ucontext_t *uc = context;
    const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    size_t n = fp ? frame_xstate_bytes(fp) : 0;
    if (capturing) { /* the first trap only records the format */
        if (fp && n <= sizeof xstate_template) {
            memcpy(xstate_template, fp, n);
            xstate_bytes = n;
        }
        return;
    }
    if (!stepping) { /* not ours: what the kernel would have done */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stepping = false;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask_before_step, NULL, sizeof(uint64_t));
    if (fp)
        memcpy(stepped->step_xstate, fp, n);
    struct kvm_regs r = {0};
    registers_from_mcontext(&uc->uc_mcontext, &r);
    /* This handler's frame sits below the guest's stack pointer and is abandoned: the
     * run loop starts afresh on its own stack (SA_NODEFER left the mask alone). */
    guest_operand_commit();
    run_loop_after_step(stepped, &r);
}

int native_step_init(char *err, size_t err_len)
{
    struct sigaction sa = {.sa_sigaction = on_step_trap, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTRAP, &sa, NULL) != 0) {
        snprintf(err, err_len, "cannot install the SIGTRAP handler: %s", strerror(errno));
        return -errno;
    }
    capturing = true;
    raise(SIGTRAP); /* returns: the handler only records the frame's format */
    /* cppcheck-suppress unreachableCode */
    capturing = false;
    if (xstate_bytes == 0) {
        snprintf(err, err_len, "the kernel's signal frame has no usable vector state");
        return -ENOTSUP;
    }
    for (unsigned i = 0; engine_vcpu_at(i); i++)
        native_step_vcpu_init(engine_vcpu_at(i));
    return 0;
}

void native_step_vcpu_init(struct vcpu *v)
{
    memcpy(v->step_xstate, xstate_template, sizeof v->step_xstate);
}

bool native_step_enabled(void)
{
    return xstate_bytes != 0;
}

bool native_step_is_handler(const void *handler)
{
    return handler == (const void *)on_step_trap;
}

bool native_step_in_progress(void)
{
    return stepping;
}

/* KVM's instruction emulator does run the plain SSE moves (movups, movdqu, movq, ...),
 * on the vCPU's own vector registers: those and the buffer must agree. Both are in the
 * standard XSAVE layout; the buffer keeps the kernel's software bytes (464..511) and the
 * trailing magic word. */
static void buffer_from_vcpu(struct vcpu *v)
{
    vcpu_get_xsave(v, &v->xsave);
    size_t n = xstate_bytes - 4 < sizeof v->xsave ? xstate_bytes - 4 : sizeof v->xsave;
    memcpy(v->step_xstate, &v->xsave, 464);
    memcpy(v->step_xstate + 512, (const uint8_t *)&v->xsave + 512, n - 512);
}

void native_step_buffer_to_vcpu(struct vcpu *v)
{
    size_t n = xstate_bytes - 4 < sizeof v->xsave ? xstate_bytes - 4 : sizeof v->xsave;
    memcpy(&v->xsave, v->step_xstate, n);
    vcpu_set_xsave(v, &v->xsave);
}

void native_step_save_xstate(struct vcpu *v, void *dst, size_t len)
{
    buffer_from_vcpu(v);
    memcpy(dst, v->step_xstate, len < sizeof v->step_xstate ? len : sizeof v->step_xstate);
}

void native_step_load_xstate(struct vcpu *v, const void *src, size_t len)
{
    memcpy(v->step_xstate, src, len < xstate_bytes ? len : xstate_bytes);
    native_step_buffer_to_vcpu(v);
}

void native_step(struct vcpu *v)
{
    struct kvm_regs r;
    vcpu_get_regs(v, &r);
    buffer_from_vcpu(v);
    if (!guest_operand_prepare(v, &r))
        return; /* a fault was raised in guest mode instead: the guest retries */
    COUNT(gcvm_counters.native_steps);
    stepped = v;
    /* The frame rt_sigreturn reads: [rsp - 8] would be the return address, [rsp] the
     * ucontext. It is built on the run loop's stack, which is abandoned. */
    static __thread _Alignas(64) struct {
        /* cppcheck-suppress unusedStructMember ; the slot below the ucontext */
        uint64_t return_address;
        ucontext_t uc;
    } frame;
    memset(&frame, 0, sizeof frame);
    frame.uc.uc_flags = 1; /* UC_FP_XSTATE */
    syscall(SYS_sigaltstack, NULL, &frame.uc.uc_stack);
    /* A trap while SIGTRAP is blocked would kill the process (the thread library blocks
     * every signal around clone, say): open it for the step, close it afterwards. */
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask_before_step, sizeof(uint64_t));
    uint64_t step_mask = mask_before_step & ~(1ull << (SIGTRAP - 1));
    memcpy(&frame.uc.uc_sigmask, &step_mask, sizeof step_mask);
    registers_to_mcontext(&r, &frame.uc.uc_mcontext);
    greg_t *g = frame.uc.uc_mcontext.gregs;
    g[REG_EFL] = (greg_t)((r.rflags & RFLAGS_USER) | RFLAGS_TF | RFLAGS_IF | 2);
    g[REG_CSGSFS] = USER_CS;
    frame.uc.uc_mcontext.fpregs = (struct _libc_fpstate *)v->step_xstate;
    stepping = true;
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "mov $15, %%eax\n\t" /* rt_sigreturn */
                     "syscall\n\t"
                     "ud2"
                     :
                     : "r"(&frame.uc)
                     : "memory");
    __builtin_unreachable();
}
