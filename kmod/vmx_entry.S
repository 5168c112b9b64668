/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/* Entering the guest and coming back (docs/kmod.md). The guest's general-purpose
 * registers and CR2 live in an array (enum gcvm_reg in gcvm_kmod.h); RSP, RIP and RFLAGS
 * are in the VMCS. Called with interrupts off. */
#include <linux/linkage.h>

#define HOST_RSP 0x6c14
#define SLOT(i) ((i) * 8)
#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RBP 4
#define RSI 5
#define RDI 6
#define R8 7
#define R9 8
#define R10 9
#define R11 10
#define R12 11
#define R13 12
#define R14 13
#define R15 14
#define CR2 15

	.text
/* int gcvm_vmx_enter(u64 *regs, int launched): 0 after a VM exit, 1 if the entry failed
 * (VMfail: the VM-instruction error field says why). */
SYM_FUNC_START(gcvm_vmx_enter)
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi			/* the array, found again at the exit */
	mov $HOST_RSP, %rax
	vmwrite %rsp, %rax
	mov SLOT(CR2)(%rdi), %rax
	mov %rax, %cr2
	test %esi, %esi			/* the flags survive the moves below */
	mov SLOT(RAX)(%rdi), %rax
	mov SLOT(RCX)(%rdi), %rcx
	mov SLOT(RDX)(%rdi), %rdx
	mov SLOT(RBX)(%rdi), %rbx
	mov SLOT(RBP)(%rdi), %rbp
	mov SLOT(RSI)(%rdi), %rsi
	mov SLOT(R8)(%rdi), %r8
	mov SLOT(R9)(%rdi), %r9
	mov SLOT(R10)(%rdi), %r10
	mov SLOT(R11)(%rdi), %r11
	mov SLOT(R12)(%rdi), %r12
	mov SLOT(R13)(%rdi), %r13
	mov SLOT(R14)(%rdi), %r14
	mov SLOT(R15)(%rdi), %r15
	mov SLOT(RDI)(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	pop %rdi			/* VMfail: the guest never ran */
	mov $1, %eax
	jmp 3f

SYM_INNER_LABEL(gcvm_vmx_exit, SYM_L_GLOBAL)
	push %rdi			/* the guest's */
	mov 8(%rsp), %rdi
	mov %rax, SLOT(RAX)(%rdi)
	mov %rcx, SLOT(RCX)(%rdi)
	mov %rdx, SLOT(RDX)(%rdi)
	mov %rbx, SLOT(RBX)(%rdi)
	mov %rbp, SLOT(RBP)(%rdi)
	mov %rsi, SLOT(RSI)(%rdi)
	mov %r8, SLOT(R8)(%rdi)
	mov %r9, SLOT(R9)(%rdi)
	mov %r10, SLOT(R10)(%rdi)
	mov %r11, SLOT(R11)(%rdi)
	mov %r12, SLOT(R12)(%rdi)
	mov %r13, SLOT(R13)(%rdi)
	mov %r14, SLOT(R14)(%rdi)
	mov %r15, SLOT(R15)(%rdi)
	pop %rax
	mov %rax, SLOT(RDI)(%rdi)
	mov %cr2, %rax
	mov %rax, SLOT(CR2)(%rdi)
	pop %rdi
	xor %eax, %eax
3:	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	RET
SYM_FUNC_END(gcvm_vmx_enter)
