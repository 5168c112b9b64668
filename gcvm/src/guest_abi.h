/* The contract between the guest runtime, the engine's host side and the kernel module:
 * the I/O ports the guest writes to, the hypercall operations, the structure offsets the
 * assembly reads, and the system calls the engine keeps for itself.
 *
 * One header for C, assembly (guest_arch.S) and the kernel module (kmod/, built by the
 * kernel's Kbuild with this directory on its include path), so that a number is written
 * once. Plain numbers only: the C side checks each offset against its structure
 * (static asserts in engine.h), the assembly uses the number. */
#ifndef GCVM_GUEST_ABI_H
#define GCVM_GUEST_ABI_H

/* ---- I/O ports: an `out` from guest ring 0 exits to the host ---- */
#define GCVM_PORT_SYSCALL 0xe0   /* the guest's SYSCALL entry: make the system call */
#define GCVM_PORT_EXIT 0xe1      /* gcvm_exit(): continue in host mode */
#define GCVM_PORT_HYPERCALL 0xe2 /* RDI points at a struct hypercall */
#define GCVM_PORT_SIGNAL 0xe3    /* the #PF stub's return, when a signal waits: RSP = its frame */

/* ---- Hypercall operations (struct hypercall's op) ---- */
#define GCVM_HC_POPULATE 1  /* map [addr, addr+len) in the guest's page tables */
#define GCVM_HC_CRASH 2     /* end the process with a report of frame */
#define GCVM_HC_SHOOTDOWN 3 /* no other vCPU may use a translation older than now */

/* ---- struct guest_cpu (engine.h): each vCPU's own guest data, at its GS base ---- */
#define GCVM_CPU_IST1_SLOT 0      /* address of the TSS's IST1 field (unaligned) */
#define GCVM_CPU_SIGNAL_PENDING 8 /* the host waits for the #PF stub's return */
#define GCVM_CPU_EXIT_MXCSR 12    /* the guest's MXCSR and x87 control word at exit */
#define GCVM_CPU_EXIT_FCW 16
#define GCVM_CPU_FAULT_DEPTH 20   /* #PF handlers running on this vCPU, nested ones included */
/* The vector a TLB-flush frame carries (the host builds it: tlb_coherence.c). */
#define GCVM_VECTOR_FLUSH 256

/* ---- struct saved_context (engine.h): gcvm_arch_enter and gcvm_arch_resume ---- */
#define GCVM_CTX_RBX 0
#define GCVM_CTX_RBP 8
#define GCVM_CTX_R12 16
#define GCVM_CTX_R13 24
#define GCVM_CTX_R14 32
#define GCVM_CTX_R15 40
#define GCVM_CTX_RSP 48
#define GCVM_CTX_RIP 56

/* ---- struct clone_child (engine.h): gcvm_arch_clone ---- */
#define GCVM_CLONE_RBX 0
#define GCVM_CLONE_RBP 8
#define GCVM_CLONE_R12 16
#define GCVM_CLONE_R13 24
#define GCVM_CLONE_R14 32
#define GCVM_CLONE_R15 40
#define GCVM_CLONE_RDI 48
#define GCVM_CLONE_RSI 56
#define GCVM_CLONE_RDX 64
#define GCVM_CLONE_R8 72
#define GCVM_CLONE_R9 80
#define GCVM_CLONE_R10 88
#define GCVM_CLONE_RIP 96
#define GCVM_CLONE_RSP 104
#define GCVM_CLONE_STARTED 120

/* ---- struct fault_frame (engine.h): what the exception stubs push ---- */
/* The stubs push the vector, then rax first and r15 last (SAVE_GPRS): r15 is at offset 0
 * and the vector just above the fifteen registers, below the CPU's error code. */
#define GCVM_FRAME_GPRS 15
#define GCVM_FRAME_VECTOR (GCVM_FRAME_GPRS * 8)
#define GCVM_FRAME_ERROR (GCVM_FRAME_VECTOR + 8)
#define GCVM_FRAME_RIP (GCVM_FRAME_ERROR + 8)

/* ---- The #PF stub ---- */
/* How it saves the interrupted code's extended state around the C handler
 * (gcvm_guest_state_save). */
#define GCVM_STATE_SAVE_NONE 0
#define GCVM_STATE_SAVE_FXSAVE 1
#define GCVM_STATE_SAVE_XSAVE 2
/* The stack one nested #PF may use: IST1 moves down by this while the handler runs. */
#define GCVM_IST_SLICE 32768
/* The XSAVE area the stub reserves on its stack (64-byte aligned below it). */
#define GCVM_FAULT_XSAVE_BYTES 4096

/* ---- System calls the engine keeps for itself ----
 * Their effects are the engine's own bookkeeping: the guest's page tables (munmap,
 * mprotect, mremap, brk, shmdt, mmap with MAP_FIXED), signal delivery (rt_sigaction,
 * rt_sigreturn), the vCPU kick that must stay unblocked (rt_sigprocmask), the vCPU's FS
 * base (arch_prctl), threads and processes started (clone, clone3, fork, vfork) and
 * giving the vCPU back (exit). The kernel module
 * must never make one of them in the kernel: it returns them to the engine. */
#define GCVM_ABI_MAP_FIXED 0x10 /* MAP_FIXED, checked against the C library's and kernel's */

#ifndef __ASSEMBLER__
#include <asm/unistd.h>

/* 1 when the engine must make system call nr itself (mmap_flags: the call's fourth
 * argument, read for mmap only), else 0. */
static inline int gcvm_abi_engine_keeps_syscall(unsigned long nr, unsigned long mmap_flags)
{
    switch (nr) {
    case __NR_munmap:
    case __NR_mprotect:
    case __NR_mremap:
    case __NR_brk:
    case __NR_shmdt:
    case __NR_rt_sigaction:
    case __NR_rt_sigreturn:
    case __NR_rt_sigprocmask:
    case __NR_arch_prctl:
    case __NR_clone:
    case __NR_clone3:
    case __NR_fork:
    case __NR_vfork:
    case __NR_exit: return 1;
    case __NR_mmap: return (mmap_flags & GCVM_ABI_MAP_FIXED) != 0;
    default: return 0;
    }
}
#endif

#endif
