/* gcvm engine: run the calling thread in guest ring 0 of a hardware virtual machine, so
 * that it can read and clear the dirty and accessed bits of its own page tables and
 * protect its own pages without system calls (Dune's idea, over /dev/kvm).
 *
 * In guest mode the thread keeps its stack, registers, TLS and memory: the guest's page
 * tables map every address of the process to the same memory. Its system calls are
 * forwarded to the host. What is not supported yet fails with an error, never a hang:
 * see docs/engine.md. */
#ifndef GCVM_GCVM_H
#define GCVM_GCVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The engine is built with hidden visibility (its guest-mode code must not go through a
 * GOT or PLT); the API is exported from any shared object that links it. */
#define GCVM_API __attribute__((visibility("default")))

/* Opens the backend chosen by GCVM_BACKEND and measures it: kvm (/dev/kvm), kmod
 * (/dev/gcvm, the kernel module of kmod/), or auto (the default: kmod where /dev/gcvm
 * exists and can make a VM, else kvm). Returns 0; -ENODEV when the backend is not usable
 * (no device, or it refused), -EACCES when the device cannot be opened, -EBUSY when
 * another hypervisor holds VT-x (kmod), -EINVAL for a bad GCVM_BACKEND or GCVM_THREADS.
 * Calling it again returns the first call's result. gcvm_last_error() says why in one
 * line. It installs the handler of SIGRTMAX-1, the signal that kicks a vCPU out of the
 * hypervisor for a TLB shootdown: the program must leave that signal alone. */
GCVM_API int gcvm_init(void);

/* One line describing the last failure of gcvm_init() or gcvm_enter(). */
GCVM_API const char *gcvm_last_error(void);

/* Returns 0 when the calling thread now runs in guest ring 0, on a vCPU of its own, with
 * the same stack, registers, FS base (TLS, errno) and floating-point control state; or
 * -errno, still in host mode: -EINVAL before gcvm_init(), -EPERM in a child forked from
 * guest mode, -EBUSY when the VM has no vCPU left (64 threads in guest mode at once).
 * Any number of threads may call it; a thread gives its vCPU back, to be reused, when it
 * leaves guest mode or ends. Entering while in guest mode returns 0. */
GCVM_API int gcvm_enter(void);

/* Where a thread created in guest mode (clone with its own TLS, so pthread_create)
 * starts: GCVM_THREADS_GUEST (the default) in guest mode on a new vCPU, or
 * GCVM_THREADS_HOST in host mode. The environment variable GCVM_THREADS=guest|host
 * sets it at gcvm_init(). Returns 0, or -EINVAL for another value. A thread starts in
 * host mode anyway when the VM has no vCPU left, and so does a clone without
 * CLONE_SETTLS (it shares its creator's TLS, where the engine keeps the thread's vCPU)
 * and a forked process. */
#define GCVM_THREADS_GUEST 0
#define GCVM_THREADS_HOST 1
GCVM_API int gcvm_set_thread_start(int where);

/* Returns to host mode (0), or -EINVAL when not in guest mode. */
GCVM_API int gcvm_exit(void);

/* 1 in guest mode, else 0. */
GCVM_API int gcvm_in_guest(void);

/* 0 in host mode. In guest mode, a nonzero number naming the calling thread's current
 * stay there: it is given when the thread enters guest mode (gcvm_enter(), or a thread
 * that starts in guest mode), no other stay of any thread of the process ever has it,
 * and it does not change until the thread leaves. So when two calls on one thread
 * return the same nonzero number, the thread ran in guest mode all the time between
 * them, whatever other threads did: every write it made there set a dirty bit and took
 * the protection faults (docs/engine.md, "Dirty and accessed bits, protection"). The one
 * exception is a signal handler run in host mode while the thread holds its vCPU, which
 * happens only when a host-mode thread replaced the engine's wrapper of that signal. */
GCVM_API uint64_t gcvm_guest_stay(void);

/* Page-granular (4 KiB) views of the caller's own page tables, in guest mode only.
 * addr and len page-aligned. Bit i of bitmap = page i of [addr, addr+len). Returns the
 * number of set bits, or -errno (-EPERM in host mode, -EINVAL for unaligned input).
 * GCVM_CLEAR also clears the bits it reports, with the TLB flush that makes that sound
 * on every vCPU: a write made by any thread in guest mode after the call returns sets
 * the dirty bit again, and one made before it returns either does or is reported now.
 * A page not touched in guest mode since it was mapped reports 0. */
#define GCVM_CLEAR 1u
GCVM_API int gcvm_dirty_harvest(void *addr, size_t len, uint64_t *bitmap, unsigned flags);
GCVM_API int gcvm_accessed_harvest(void *addr, size_t len, uint64_t *bitmap, unsigned flags);

/* In-guest page protection, no system call, guest mode only: prot is PROT_NONE,
 * PROT_READ or PROT_READ|PROT_WRITE (never more than the host mapping allows). A fault
 * on a protected page calls the fault handler (gcvm_set_fault_handler). Once it returns,
 * no vCPU can access the pages beyond prot. Returns 0 or -errno. */
GCVM_API int gcvm_protect(void *addr, size_t len, int prot);
typedef int (*gcvm_fault_fn)(void *addr, int is_write, void *arg);

/* Installs the process's one fault handler, replacing the one before (NULL: none). A
 * fault on a page protected with gcvm_protect() calls fn(addr, is_write, arg); a nonzero
 * return retries the access (fn is expected to have lifted the protection), zero ends
 * the process with a report.
 *
 * fn runs in guest ring 0 inside the engine's page-fault handler, on the engine's fault
 * stack (not the thread's); no signal handler runs inside it. So it must:
 * - use no vector or x87 registers: compile its file with -mgeneral-regs-only and call
 *   no library function that may (memcpy, printf). Where guest ring 0 is emulated, the
 *   interrupted code's vector registers are not saved around the handler, so any SSE or
 *   AVX instruction in it would corrupt them;
 * - assume no red zone (-mno-red-zone), like any ring-0 code: nothing promises that the
 *   bytes below its stack pointer survive an exception it takes;
 * - use less than 28 KiB of stack: a fault it takes itself (a first touch of a page, a
 *   protection fault) runs 32 KiB below the start of its stack;
 * - return: a longjmp out of it would leave the fault stack moved and the thread's
 *   signals held back for good;
 * - avoid system calls: each one leaves the guest, and a signal that arrives meanwhile
 *   waits until the handler has returned.
 * gcvm_protect() and the harvests may be called from it. */
GCVM_API void gcvm_set_fault_handler(gcvm_fault_fn fn, void *arg);

/* The handler and argument installed now (NULL, NULL when none), so that a library that
 * installs its own can hand on the faults that are not its. */
GCVM_API void gcvm_get_fault_handler(gcvm_fault_fn *fn, void **arg);

struct gcvm_info {
    char backend[16];         /* "kvm" or "kmod" */
    int hardware;             /* 1: guest ring 0 runs on VT-x/AMD-V; 0: emulated */
    double guest_ns_per_insn; /* measured by a short calibration loop */
    double host_ns_per_insn;
    unsigned guest_phys_bits; /* the guest's MAXPHYADDR */
    uint64_t exits;           /* every return from the guest to the host */
    uint64_t syscall_exits;   /* forwarded system calls */
    uint64_t populate_exits;  /* first touches of a page in guest mode */
    uint64_t other_exits;
    uint64_t protection_faults; /* faults on gcvm_protect()ed pages */
    uint64_t signals_delivered; /* handlers run in guest mode */
    uint64_t native_steps;      /* instructions an emulated ring 0 could not run, run
                                   natively one at a time (docs/engine.md) */
    uint64_t memslots;
    uint64_t entries;            /* times a thread went from host to guest mode, in the whole
                                    process (gcvm_guest_stay() tells it for one thread) */
    uint64_t vcpus;              /* vCPUs created so far (never more than threads in guest mode
                                    at once: a thread's vCPU is reused after it) */
    uint64_t vcpus_held;         /* vCPUs held by threads in guest mode now */
    uint64_t shootdowns;         /* TLB shootdowns: harvests, protections and unmappings made
                                    while more than one vCPU was held */
    uint64_t exceptions_dropped; /* faults KVM had not finished delivering when the host
                                    had to change the vCPU's registers: the faulting
                                    instruction ran again instead (docs/engine.md) */
};

/* Fills *out; -EINVAL before a successful gcvm_init(). */
GCVM_API int gcvm_get_info(struct gcvm_info *out);

#ifdef __cplusplus
}
#endif
#endif
