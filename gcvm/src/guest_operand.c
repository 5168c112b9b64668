/* The memory operand of an instruction run natively (native_step.c), so that running it
 * in host mode keeps the guest's view exact enough: its pages get the accessed bit, and
 * the dirty bit when the instruction stores; a page protected with gcvm_protect() that it
 * would store to (or read, under PROT_NONE) takes its fault in guest mode first, and the
 * instruction is retried once the program's handler has lifted the protection.
 *
 * Only the instruction forms an emulated ring 0 cannot execute are decoded: the 0F, 0F38
 * and 0F3A maps in legacy, VEX and EVEX encodings, and x87. An instruction stores when
 * its memory operand is a destination; the forms that do are listed below (Intel SDM
 * vol. 2). The range is an upper bound: the full vector length, and for an EVEX
 * compressed displacement every scale it may have. */
#define _GNU_SOURCE
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "vcpu.h"

struct operand {
    bool memory, store;
    uint64_t lo, hi; /* bytes that may be touched */
};

struct decoded {
    unsigned map; /* 0: x87 (D8-DF); 1: 0F; 2: 0F38; 3: 0F3A */
    uint8_t opcode, modrm;
    uint8_t simd_prefix; /* 0, 0x66, 0xF3 or 0xF2 */
    unsigned vector_bytes;
    bool evex;
};

static uint64_t gpr(const struct kvm_regs *r, unsigned n)
{
    const uint64_t regs[16] = {r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                               r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
    return regs[n & 15];
}

static bool in_list(uint8_t v, const uint8_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

static bool stores(const struct decoded *d)
{
    unsigned reg = (d->modrm >> 3) & 7;
    static const uint8_t map1[] = {0x11, 0x13, 0x17, 0x29, 0x2b, 0x7f, 0xe7, 0xd6, 0xc3};
    static const uint8_t map2[] = {0x2e, 0x2f, 0x8e, 0x8a, 0x8b, 0x63, 0xa0, 0xa1, 0xa2, 0xa3};
    static const uint8_t map3[] = {0x14, 0x15, 0x16, 0x17, 0x19, 0x1b, 0x1d, 0x39, 0x3b, 0x7b};
    switch (d->map) {
    case 0: /* x87: the store forms of D9, DB, DD and DF */
        if (d->opcode == 0xd9)
            return reg == 2 || reg == 3 || reg == 6 || reg == 7;
        if (d->opcode == 0xdb)
            return reg == 1 || reg == 2 || reg == 3 || reg == 7;
        if (d->opcode == 0xdd || d->opcode == 0xdf)
            return reg != 0 && reg != 4 && reg != 5;
        return false;
    case 1:
        if (d->opcode == 0x7e) /* movd/movq r/m, xmm; but F3 0F 7E is a load */
            return d->simd_prefix != 0xf3;
        if (d->opcode == 0xae) /* fxsave, stmxcsr, xsave, xsaveopt */
            return reg == 0 || reg == 3 || reg == 4 || reg == 6;
        if (d->opcode == 0xc7) /* xsavec, xsaves */
            return reg == 4 || reg == 5;
        return in_list(d->opcode, map1, sizeof map1);
    case 2: return in_list(d->opcode, map2, sizeof map2);
    default: return in_list(d->opcode, map3, sizeof map3);
    }
}

static bool has_imm8(const struct decoded *d)
{
    static const uint8_t map1[] = {0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6};
    return d->map == 3 || (d->map == 1 && in_list(d->opcode, map1, sizeof map1));
}

/* Decodes the instruction at p; false for a form this file does not know. */
static bool decode(const uint8_t *p, const struct kvm_regs *r, const struct kvm_sregs *s,
                   struct operand *op)
{
    size_t i = 0;
    uint64_t segment = 0;
    bool addr32 = false;
    unsigned rex = 0;
    struct decoded d = {.vector_bytes = 16};
    for (;; i++) {
        uint8_t b = p[i];
        if (b == 0x66 || b == 0xf2 || b == 0xf3)
            d.simd_prefix = b;
        else if (b == 0x64)
            segment = s->fs.base;
        else if (b == 0x65)
            segment = s->gs.base;
        else if (b == 0x67)
            addr32 = true;
        else if (b != 0xf0 && b != 0x2e && b != 0x36 && b != 0x3e && b != 0x26)
            break;
        if (i > 14)
            return false;
    }
    if ((p[i] & 0xf0) == 0x40)
        rex = p[i++] & 15; /* W R X B */
    static const uint8_t pp_prefix[4] = {0, 0x66, 0xf3, 0xf2};
    if (p[i] == 0xc5) { /* VEX, 2 bytes: R vvvv L pp */
        rex = (p[i + 1] & 0x80) ? 0 : 4;
        d.vector_bytes = (p[i + 1] & 4) ? 32 : 16;
        d.simd_prefix = pp_prefix[p[i + 1] & 3];
        d.map = 1;
        i += 2;
    } else if (p[i] == 0xc4 || p[i] == 0x62) { /* VEX 3 bytes, or EVEX: R X B in bits 7-5 */
        d.evex = p[i] == 0x62;
        rex = (~p[i + 1] >> 5) & 7; /* R X B, stored inverted */
        d.map = p[i + 1] & (d.evex ? 7 : 31);
        if (d.map == 0 || d.map > 3)
            return false;
        d.simd_prefix = pp_prefix[p[i + 2] & 3];
        if (d.evex) {
            unsigned ll = (p[i + 3] >> 5) & 3;
            d.vector_bytes = 16u << ll;
            i += 4;
        } else {
            d.vector_bytes = (p[i + 2] & 4) ? 32 : 16;
            i += 3;
        }
    } else if (p[i] == 0x0f) {
        i++;
        d.map = 1;
        if (p[i] == 0x38 || p[i] == 0x3a)
            d.map = p[i++] == 0x38 ? 2 : 3;
    } else if (p[i] >= 0xd8 && p[i] <= 0xdf) {
        d.map = 0;
        d.vector_bytes = 128; /* up to fnsave's 108 bytes */
    } else {
        return false;
    }
    d.opcode = p[i++];
    d.modrm = p[i++];
    unsigned mod = d.modrm >> 6, rm = d.modrm & 7;
    if (mod == 3) {
        op->memory = false;
        return true;
    }
    if (d.map == 1 && (d.opcode == 0xae || d.opcode == 0xc7))
        d.vector_bytes = 4096; /* fxsave/xsave areas */
    uint64_t base = 0;
    bool rip_relative = false, disp32 = mod == 2;
    if (rm == 4) {
        uint8_t sib = p[i++];
        unsigned index = ((sib >> 3) & 7) | ((rex & 2) ? 8 : 0);
        if (index != 4)
            base += gpr(r, index) << (sib >> 6);
        if ((sib & 7) == 5 && mod == 0)
            disp32 = true;
        else
            base += gpr(r, (sib & 7) | ((rex & 1) ? 8 : 0));
    } else if (rm == 5 && mod == 0) {
        rip_relative = disp32 = true;
    } else {
        base = gpr(r, rm | ((rex & 1) ? 8 : 0));
    }
    int64_t disp = 0;
    if (disp32) {
        int32_t v;
        memcpy(&v, p + i, 4);
        disp = v;
        i += 4;
    } else if (mod == 1) {
        uint8_t d8 = p[i++];
        disp = d8 < 0x80 ? (int64_t)d8 : (int64_t)d8 - 256;
    }
    i += has_imm8(&d) ? 1 : 0;
    if (rip_relative)
        base = r->rip + i;
    uint64_t lo = base + (uint64_t)disp, hi = lo + d.vector_bytes;
    if (d.evex && mod == 1 && disp != 0) { /* disp8 * N, N unknown: every N up to 64 */
        lo = base + (uint64_t)(disp < 0 ? disp * 64 : disp);
        hi = base + (uint64_t)(disp < 0 ? disp : disp * 64) + d.vector_bytes;
    }
    if (addr32) {
        uint64_t n = hi - lo;
        lo &= 0xffffffffu;
        hi = lo + n;
    }
    op->memory = true;
    op->store = stores(&d);
    op->lo = lo + segment;
    op->hi = hi + segment;
    return true;
}

static __thread struct operand pending; /* the instruction this thread steps */

/* Enters the guest's #PF handler as the CPU would: frame on the IST1 stack, CR2 set. */
static void raise_guest_page_fault(const struct vcpu *v, struct kvm_regs *r, uint64_t address,
                                   bool present, bool write)
{
    uint64_t ist;
    memcpy(&ist, v->cpu->ist1_slot, sizeof ist);
    uint64_t *sp = (uint64_t *)(ist & ~15ull);
    *--sp = SEL_DATA;
    *--sp = r->rsp;
    *--sp = r->rflags;
    *--sp = SEL_CODE;
    *--sp = r->rip;
    *--sp = (present ? 1u : 0u) | (write ? 2u : 0u);
    struct kvm_sregs s;
    vcpu_get_sregs(v, &s);
    s.cr2 = address;
    vcpu_set_sregs(v, &s);
    r->rsp = (uint64_t)sp;
    r->rip = (uint64_t)gcvm_guest_page_fault_entry;
    r->rflags = 2; /* an interrupt gate clears IF */
    vcpu_set_regs(v, r);
}

bool guest_operand_prepare(const struct vcpu *v, struct kvm_regs *r)
{
    struct kvm_sregs s;
    vcpu_get_sregs(v, &s);
    pending = (struct operand){0};
    if (!decode((const uint8_t *)r->rip, r, &s, &pending)) {
        const uint8_t *p = (const uint8_t *)r->rip;
        fprintf(stderr,
                "gcvm: fatal: the emulated ring 0 cannot run the instruction at 0x%llx "
                "(%02x %02x %02x %02x %02x %02x), and the engine cannot decode it to run it "
                "natively\n",
                (unsigned long long)r->rip, p[0], p[1], p[2], p[3], p[4], p[5]);
        abort();
    }
    if (!pending.memory)
        return true;
    for (uint64_t va = pending.lo & ~(PAGE - 1); va < pending.hi; va += PAGE) {
        if (aspace_populate(va, PAGE, false) != 0)
            continue; /* not mapped: the instruction faults in host mode if it touches it */
        uint64_t *pte = aspace_pte(va);
        if (!pte || !(*pte & PTE_PROTECTED))
            continue;
        bool present = *pte & PTE_P;
        if (!present || (pending.store && !(*pte & PTE_RW))) {
            raise_guest_page_fault(v, r, va < pending.lo ? pending.lo : va, present, pending.store);
            return false;
        }
    }
    return true;
}

void guest_operand_commit(void)
{
    if (!pending.memory)
        return;
    for (uint64_t va = pending.lo & ~(PAGE - 1); va < pending.hi; va += PAGE) {
        uint64_t *pte = aspace_pte(va);
        if (pte && (*pte & PTE_P))
            __atomic_fetch_or(pte, PTE_A | (pending.store ? PTE_D : 0), __ATOMIC_RELAXED);
    }
}
