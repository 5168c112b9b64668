/* Crash reports: what went wrong in guest mode, the guest's registers, the symbol at rip
 * and a backtrace unwound by libunwind from the guest's registers (the memory is the
 * process's), then abort(). docs/engine.md ("Faults"). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "engine.h"
#include "vcpu.h"

/* The vector of a report made from the vCPU's registers, outside any exception. */
#define NO_VECTOR 255

static const char *const vector_names[32] = {"divide error",
                                             "debug",
                                             "NMI",
                                             "breakpoint",
                                             "overflow",
                                             "bound range",
                                             "invalid opcode",
                                             "device not available",
                                             "double fault",
                                             "coprocessor overrun",
                                             "invalid TSS",
                                             "segment not present",
                                             "stack fault",
                                             "general protection",
                                             "page fault",
                                             "reserved",
                                             "x87 error",
                                             "alignment check",
                                             "machine check",
                                             "SIMD error",
                                             "virtualization",
                                             "control protection"};

static void print_symbol(uint64_t ip)
{
    Dl_info info;
    if (dladdr((void *)ip, &info) && info.dli_sname)
        fprintf(stderr, " %s+0x%lx (%s)", info.dli_sname,
                (unsigned long)(ip - (uint64_t)info.dli_saddr), info.dli_fname);
    else if (info.dli_fname)
        fprintf(stderr, " (%s+0x%lx)", info.dli_fname,
                (unsigned long)(ip - (uint64_t)info.dli_fbase));
}

/* Unwinds the guest's stack from the faulting registers: the memory is the process's. */
static void print_backtrace(const struct fault_frame *f)
{
    unw_context_t uc;
    unw_getcontext(&uc);
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)f->rip;
    uc.uc_mcontext.gregs[REG_RSP] = (greg_t)f->rsp;
    uc.uc_mcontext.gregs[REG_RBP] = (greg_t)f->rbp;
    uc.uc_mcontext.gregs[REG_RBX] = (greg_t)f->rbx;
    uc.uc_mcontext.gregs[REG_R12] = (greg_t)f->r12;
    uc.uc_mcontext.gregs[REG_R13] = (greg_t)f->r13;
    uc.uc_mcontext.gregs[REG_R14] = (greg_t)f->r14;
    uc.uc_mcontext.gregs[REG_R15] = (greg_t)f->r15;
    unw_cursor_t cursor;
    if (unw_init_local(&cursor, &uc) != 0)
        return;
    fprintf(stderr, "gcvm: backtrace:\n");
    for (int depth = 0; depth < 32; depth++) {
        unw_word_t ip;
        unw_get_reg(&cursor, UNW_REG_IP, &ip);
        fprintf(stderr, "gcvm:   #%d 0x%016lx", depth, (unsigned long)ip);
        char name[128];
        unw_word_t offset;
        if (unw_get_proc_name(&cursor, name, sizeof name, &offset) == 0)
            fprintf(stderr, " %s+0x%lx", name, (unsigned long)offset);
        else
            print_symbol(ip);
        fputc('\n', stderr);
        if (unw_step(&cursor) <= 0)
            break;
    }
}

void crash_report(const char *what, const struct fault_frame *f, uint64_t cr2)
{
    fprintf(stderr, "gcvm: fatal: %s in guest mode", what);
    if (f) {
        if (f->vector == NO_VECTOR)
            fprintf(stderr, ", cr2 0x%lx\n", (unsigned long)cr2);
        else
            fprintf(stderr, ": vector %lu (%s), error 0x%lx, address 0x%lx\n",
                    (unsigned long)f->vector,
                    f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "?",
                    (unsigned long)f->error, (unsigned long)cr2);
        fprintf(stderr,
                "gcvm: rip %016lx rsp %016lx rflags %08lx\n"
                "gcvm: rax %016lx rbx %016lx rcx %016lx rdx %016lx\n"
                "gcvm: rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n"
                "gcvm: r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n"
                "gcvm: r13 %016lx r14 %016lx r15 %016lx\n",
                (unsigned long)f->rip, (unsigned long)f->rsp, (unsigned long)f->rflags,
                (unsigned long)f->rax, (unsigned long)f->rbx, (unsigned long)f->rcx,
                (unsigned long)f->rdx, (unsigned long)f->rsi, (unsigned long)f->rdi,
                (unsigned long)f->rbp, (unsigned long)f->r8, (unsigned long)f->r9,
                (unsigned long)f->r10, (unsigned long)f->r11, (unsigned long)f->r12,
                (unsigned long)f->r13, (unsigned long)f->r14, (unsigned long)f->r15);
        fprintf(stderr, "gcvm: at");
        print_symbol(f->rip);
        fputc('\n', stderr);
        struct fault_frame interrupted = *f;
        if (f->rip == (uint64_t)gcvm_guest_flush_entry) {
            /* Taken at the TLB flush the host put before the interrupted code: that code
             * is in the flush's frame, laid out as a fault frame from its vector on
             * (tlb_coherence.c), and its registers are f's. */
            const struct fault_frame *flush =
                (const struct fault_frame *)(f->rsp - offsetof(struct fault_frame, vector));
            interrupted.rip = flush->rip;
            interrupted.rsp = flush->rsp;
            fprintf(stderr, "gcvm: before a TLB flush of the host's, interrupted at");
            print_symbol(interrupted.rip);
            fprintf(stderr, " rsp %016lx\n", (unsigned long)interrupted.rsp);
        }
        print_backtrace(&interrupted);
    } else {
        fputc('\n', stderr);
    }
    fflush(stderr);
    abort();
}

void crash_report_registers(const char *what, const struct kvm_regs *r, uint64_t cr2)
{
    struct fault_frame f = {.r15 = r->r15,
                            .r14 = r->r14,
                            .r13 = r->r13,
                            .r12 = r->r12,
                            .r11 = r->r11,
                            .r10 = r->r10,
                            .r9 = r->r9,
                            .r8 = r->r8,
                            .rbp = r->rbp,
                            .rdi = r->rdi,
                            .rsi = r->rsi,
                            .rdx = r->rdx,
                            .rcx = r->rcx,
                            .rbx = r->rbx,
                            .rax = r->rax,
                            .vector = NO_VECTOR,
                            .rip = r->rip,
                            .rflags = r->rflags,
                            .rsp = r->rsp};
    crash_report(what, &f, cr2);
}

void crash_report_vcpu(const struct vcpu *v, const char *what)
{
    /* Not through the checked accessors: a vCPU that cannot be read only leaves its
     * registers out of the report. */
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_REGS, &r) == 0 && ioctl(v->fd, KVM_GET_SREGS, &s) == 0)
        crash_report_registers(what, &r, s.cr2);
    crash_report(what, NULL, 0);
}
