/* Context switches between host and guest mode, and the guest's entry stubs.
 * docs/engine.md ("Entering and leaving", "System calls", "Faults"). */

#include "guest_abi.h"

/* The C symbols used here stay inside the library (no PLT or GOT in guest mode). */
        .hidden gcvm_guest_state_save
        .hidden gcvm_guest_page_fault, gcvm_guest_crash, gcvm_clone_child_start
        .hidden engine_thread_ends

        .text
/* int gcvm_arch_enter(struct saved_context *ctx, void (*loop)(ctx), void *stack_top) */
        .globl gcvm_arch_enter
        .type gcvm_arch_enter, @function
gcvm_arch_enter:
        mov %rbx, GCVM_CTX_RBX(%rdi)
        mov %rbp, GCVM_CTX_RBP(%rdi)
        mov %r12, GCVM_CTX_R12(%rdi)
        mov %r13, GCVM_CTX_R13(%rdi)
        mov %r14, GCVM_CTX_R14(%rdi)
        mov %r15, GCVM_CTX_R15(%rdi)
        lea 8(%rsp), %rax          /* the stack as the caller sees it after we return */
        mov %rax, GCVM_CTX_RSP(%rdi)
        mov (%rsp), %rax           /* where we return to */
        mov %rax, GCVM_CTX_RIP(%rdi)
        mov %rdx, %rsp             /* the host's loop runs on its own stack */
        and $-16, %rsp
        call *%rsi                 /* never returns: the guest continues at ctx->rip */
        ud2
        .size gcvm_arch_enter, .-gcvm_arch_enter

/* void gcvm_arch_resume(const struct saved_context *ctx): in host mode, continue where
 * the guest left off, with rax = 0. */
        .globl gcvm_arch_resume
        .type gcvm_arch_resume, @function
gcvm_arch_resume:
        mov GCVM_CTX_RBX(%rdi), %rbx
        mov GCVM_CTX_RBP(%rdi), %rbp
        mov GCVM_CTX_R12(%rdi), %r12
        mov GCVM_CTX_R13(%rdi), %r13
        mov GCVM_CTX_R14(%rdi), %r14
        mov GCVM_CTX_R15(%rdi), %r15
        mov GCVM_CTX_RSP(%rdi), %rsp
        xor %eax, %eax
        jmp *GCVM_CTX_RIP(%rdi)
        .size gcvm_arch_resume, .-gcvm_arch_resume

/* Where a thread that ends in guest mode continues in host mode, on its own stack, with
 * the exit status in rbx: it gives the vCPU back and ends (engine_thread_ends). Not on
 * the engine's stack, which the next thread to enter may use at once. */
        .globl gcvm_arch_thread_exit
        .type gcvm_arch_thread_exit, @function
gcvm_arch_thread_exit:
        and $-16, %rsp
        mov %ebx, %edi
        call engine_thread_ends
        ud2
        .size gcvm_arch_thread_exit, .-gcvm_arch_thread_exit

/* void gcvm_arch_exit(void): in guest mode, ask the host to continue in host mode at our
 * `ret`, with our stack and callee-saved registers. Where guest code runs vector
 * instructions, the guest's MXCSR and x87 control word go to the host with it, read here
 * rather than from the hypervisor (docs/engine.md, "Two hypervisors"). */
        .globl gcvm_arch_exit
        .type gcvm_arch_exit, @function
gcvm_arch_exit:
        cmpb $0, gcvm_guest_state_save(%rip)
        je 1f
        stmxcsr %gs:GCVM_CPU_EXIT_MXCSR    /* this vCPU's guest data */
        fnstcw %gs:GCVM_CPU_EXIT_FCW
1:      xor %eax, %eax
        outb %al, $GCVM_PORT_EXIT
        ret
        .size gcvm_arch_exit, .-gcvm_arch_exit

/* long gcvm_arch_clone(long nr, long a1, long a2, long a3, long a4, long a5,
 *                      struct clone_child *c): makes the system call nr (a clone) from
 * host mode. The parent returns its result. The child, on the stack c->rsp, calls
 * gcvm_clone_child_start(c), then continues at c->rip with the guest's registers from c
 * and rax = 0, as the guest would after the kernel's clone; it sets c->started once it
 * no longer needs c. Offsets: struct clone_child in engine.h, numbers in guest_abi.h. */
        .globl gcvm_arch_clone
        .type gcvm_arch_clone, @function
gcvm_arch_clone:
        push %r12
        mov 16(%rsp), %r12           /* c: the child inherits it in r12 */
        mov %rdi, %rax
        mov %rsi, %rdi
        mov %rdx, %rsi
        mov %rcx, %rdx
        mov %r8, %r10
        mov %r9, %r8
        syscall
        test %rax, %rax
        jz 1f
        pop %r12
        ret
1:      mov GCVM_CLONE_RSP(%r12), %rsp
        sub $256, %rsp               /* clear of the red zone */
        and $-16, %rsp
        mov %r12, %rdi
        call gcvm_clone_child_start
        mov GCVM_CLONE_RSP(%r12), %rsp
        mov GCVM_CLONE_RIP(%r12), %rax   /* returned to below the stack pointer */
        mov %rax, -8(%rsp)
        mov GCVM_CLONE_RBX(%r12), %rbx
        mov GCVM_CLONE_RBP(%r12), %rbp
        mov GCVM_CLONE_R13(%r12), %r13
        mov GCVM_CLONE_R14(%r12), %r14
        mov GCVM_CLONE_R15(%r12), %r15
        mov GCVM_CLONE_RDI(%r12), %rdi
        mov GCVM_CLONE_RSI(%r12), %rsi
        mov GCVM_CLONE_RDX(%r12), %rdx
        mov GCVM_CLONE_R8(%r12), %r8
        mov GCVM_CLONE_R9(%r12), %r9
        mov GCVM_CLONE_R10(%r12), %r10
        mov GCVM_CLONE_R12(%r12), %r11
        movl $1, GCVM_CLONE_STARTED(%r12) /* c may vanish from here on */
        mov %r11, %r12
        xor %eax, %eax
        sub $8, %rsp
        ret
        .size gcvm_arch_clone, .-gcvm_arch_clone

        .section gcvm_guest_text, "ax", @progbits

/* SYSCALL lands here (MSR_LSTAR) in ring 0, on the caller's stack, which must not be
 * touched (the red zone). The host runs the call, puts the result in rax, and resumes
 * at rcx with rflags = r11, as the kernel's SYSRET would. */
        .globl gcvm_guest_syscall_entry
gcvm_guest_syscall_entry:
        outb %al, $GCVM_PORT_SYSCALL
        ud2

/* The host resumes here instead of at rcx when the system call changed the address
 * space: flush the TLB, then return. r11 is the kernel's to clobber. */
        .globl gcvm_guest_flush_and_return
gcvm_guest_flush_and_return:
        mov %cr3, %r11
        mov %r11, %cr3
        jmp *%rcx

.macro SAVE_GPRS
        push %rax
        push %rbx
        push %rcx
        push %rdx
        push %rsi
        push %rdi
        push %rbp
        push %r8
        push %r9
        push %r10
        push %r11
        push %r12
        push %r13
        push %r14
        push %r15
.endm

.macro RESTORE_GPRS
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %r11
        pop %r10
        pop %r9
        pop %r8
        pop %rbp
        pop %rdi
        pop %rsi
        pop %rdx
        pop %rcx
        pop %rbx
        pop %rax
.endm

/* #PF, on IST1. The C handler may run arbitrary code (the program's fault handler), so
 * all registers and the extended state are saved, and IST1 is moved down by a slice
 * while it runs so that a nested fault gets its own stack.
 *
 * The handler runs with interrupts on, and the vCPU's fault_depth (not IF) tells the host
 * that it may not build a signal frame there. The guest takes no interrupt either way;
 * IF matters to the hypervisor below: an emulated VT-x CPU (Bochs 2.7) that enters a
 * guest whose IF is clear stops taking the host's own interrupts until the guest sets IF
 * again, external-interrupt exiting notwithstanding, so a handler that waits long after
 * any exit (a program's handler waiting for another thread) would stall that CPU's
 * kernel (docs/engine.md, "Faults"). */
        .globl gcvm_guest_page_fault_entry
gcvm_guest_page_fault_entry:
        pushq $14
        SAVE_GPRS
        mov %rsp, %rbx                      /* rbx: the struct fault_frame */
        mov %gs:GCVM_CPU_IST1_SLOT, %rax    /* this vCPU's TSS */
        subq $GCVM_IST_SLICE, (%rax)
        incl %gs:GCVM_CPU_FAULT_DEPTH       /* before interrupts are on */
        sub $(GCVM_FAULT_XSAVE_BYTES + 64), %rsp
        and $-64, %rsp
        mov $8, %ecx                        /* zero the XSAVE header (bytes 512..575) */
1:      movq $0, 504(%rsp,%rcx,8)
        loop 1b
        movzbl gcvm_guest_state_save(%rip), %eax
        cmp $GCVM_STATE_SAVE_XSAVE, %eax
        je 2f
        cmp $GCVM_STATE_SAVE_FXSAVE, %eax
        jne 3f                              /* emulated ring 0: there is no such state */
        fxsave64 (%rsp)
        jmp 3f
2:      mov $-1, %eax
        mov $-1, %edx
        xsave64 (%rsp)
3:      mov %rbx, %rdi
        /* IF on by popfq, not sti: sti blocks interrupts for one instruction, and an exit
         * in that shadow (a preemption timer, a nested-paging fault on the call's push)
         * would leave the vCPU's state saying so; the host may then enter it with IF
         * clear (a TLB-flush frame), which VM entry refuses. */
        pushfq
        orq $0x200, (%rsp)
        popfq
        call gcvm_guest_page_fault
        cli
        movzbl gcvm_guest_state_save(%rip), %eax
        cmp $GCVM_STATE_SAVE_XSAVE, %eax
        je 4f
        cmp $GCVM_STATE_SAVE_FXSAVE, %eax
        jne 5f
        fxrstor64 (%rsp)
        jmp 5f
4:      mov $-1, %eax
        mov $-1, %edx
        xrstor64 (%rsp)
5:      mov %rbx, %rsp
        mov %gs:GCVM_CPU_IST1_SLOT, %rax
        addq $GCVM_IST_SLICE, (%rax)
        decl %gs:GCVM_CPU_FAULT_DEPTH       /* after interrupts are off */
/* The return from an exception-like frame (rsp: its struct fault_frame). A signal that
 * waits is delivered on the way back to code outside every fault handler: a frame that
 * returns into a handler (a nested fault's, a TLB flush's) leaves it to that handler's
 * own return. */
exception_return:
        cmpl $0, %gs:GCVM_CPU_FAULT_DEPTH
        jne 7f
        cmpl $0, %gs:GCVM_CPU_SIGNAL_PENDING
        jne 6f
7:      RESTORE_GPRS
        add $(GCVM_FRAME_RIP - GCVM_FRAME_VECTOR), %rsp /* vector and error code */
        iretq
/* A signal arrived while the handler ran: the host returns from the fault in our place
 * (rsp points at the struct fault_frame) and then delivers it. */
6:      outb %al, $GCVM_PORT_SIGNAL
        ud2

/* The TLB flush a shootdown asks of this vCPU (tlb_coherence.c). The host enters it as
 * the CPU enters an exception handler, with interrupts off, on the vCPU's flush stack:
 * a frame with vector GCVM_VECTOR_FLUSH, error 0, and the interrupted rip, cs, rflags,
 * rsp and ss. Nothing of the interrupted code is touched. A signal that arrived
 * meanwhile (IF was clear, so the host could not build its frame) comes back to the host
 * as after the #PF handler. */
        .globl gcvm_guest_flush_entry, gcvm_guest_flush_done
gcvm_guest_flush_entry:
        SAVE_GPRS
        mov %cr3, %rax
        mov %rax, %cr3
gcvm_guest_flush_done:
        jmp exception_return

/* Every other exception, on IST2: report and end the process. Entries are 16 bytes
 * apart; the CPU pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30. */
        .balign 16
        .globl gcvm_guest_exception_entries
gcvm_guest_exception_entries:
        vector = 0
        .rept 32
        .balign 16
        .if (vector == 8) || (vector >= 10 && vector <= 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
        pushq $vector
        .else
        pushq $0
        pushq $vector
        .endif
        jmp exception_common
        vector = vector + 1
        .endr

exception_common:
        SAVE_GPRS
        mov %rsp, %rdi
        and $-16, %rsp
        call gcvm_guest_crash
        ud2

        .section .note.GNU-stack, "", @progbits
