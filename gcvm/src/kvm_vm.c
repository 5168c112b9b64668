/* Creating the virtual machine and a vCPU that runs a thread in guest ring 0: CPUID,
 * 64-bit mode, GDT, IDT and TSS (with separate stacks for faults), the SYSCALL MSRs and
 * the extended-state registers. Each step is a small function, in the order of
 * kvm_create_machine() and kvm_create_vcpu(). */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "kvm_vm.h"
#include "vcpu.h"

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
/* SYSCALL clears TF, DF, IF and AC, as Linux has it: the entry stub runs with IF clear. */
#define SYSCALL_CLEARS_FLAGS ((1u << 8) | (1u << 10) | (1u << 9) | (1u << 18))
#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_FSGSBASE (1u << 16)
#define CR4_OSXSAVE (1u << 18)
#define IST_STACK_BYTES ((size_t)256 * 1024)

/* The tables a vCPU reads, its fault stacks and its guest data: one block per vCPU,
 * mapped into the guest. */
struct idt_entry {
    uint16_t offset0, selector;
    uint8_t ist, type;
    uint16_t offset1;
    uint32_t offset2, zero;
} __attribute__((packed));

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));

struct cpu_tables {
    uint64_t gdt[8];
    struct idt_entry idt[256];
    struct tss64 tss;
    char ist1[IST_STACK_BYTES] __attribute__((aligned(16)));
    char ist2[IST_STACK_BYTES] __attribute__((aligned(16)));
    char flush_stack[VCPU_FLUSH_STACK_BYTES] __attribute__((aligned(16)));
    struct guest_cpu cpu;
};

static void set_gate(struct cpu_tables *tables, int vector, void *handler, int ist)
{
    uint64_t a = (uint64_t)handler;
    tables->idt[vector] = (struct idt_entry){.offset0 = (uint16_t)a,
                                             .selector = SEL_CODE,
                                             .ist = (uint8_t)ist,
                                             .type = 0x8e,
                                             .offset1 = (uint16_t)(a >> 16),
                                             .offset2 = (uint32_t)(a >> 32)};
}

static void build_tables(struct cpu_tables *tables)
{
    tables->gdt[1] = 0x00af9b000000ffffull; /* 64-bit code, DPL 0 */
    tables->gdt[2] = 0x00cf93000000ffffull; /* data */
    uint64_t base = (uint64_t)&tables->tss, limit = sizeof tables->tss - 1;
    tables->gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
                     (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    tables->gdt[4] = base >> 32;
    tables->tss.ist[0] = (uint64_t)tables->ist1 + IST_STACK_BYTES;
    tables->tss.ist[1] = (uint64_t)tables->ist2 + IST_STACK_BYTES;
    tables->tss.iomap_base = sizeof tables->tss;
    for (int v = 0; v < 32; v++)
        set_gate(tables, v, gcvm_guest_exception_entries + (size_t)16 * (size_t)v, 2);
    set_gate(tables, 14, (void *)gcvm_guest_page_fault_entry, 1);
    tables->cpu.ist1_slot = (char *)&tables->tss + offsetof(struct tss64, ist);
}

/* The CPUID every vCPU gets (what KVM supports), and what the engine reads from it. */
static int get_supported_cpuid(struct kvm_machine *m)
{
    enum { MAX_ENTRIES = 256 };
    struct kvm_cpuid2 *cpuid =
        calloc(1, sizeof *cpuid + MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
    if (!cpuid)
        return -ENOMEM;
    cpuid->nent = MAX_ENTRIES;
    if (ioctl(m->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) != 0) {
        int rc = -errno;
        free(cpuid);
        return rc;
    }
    m->phys_bits = 36;
    bool xsave = false;
    for (unsigned i = 0; i < cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        if (e->function == 0x80000008)
            m->phys_bits = e->eax & 0xff;
        if (e->function == 1)
            xsave = (e->ecx >> 26) & 1;
    }
    unsigned a, b, c, d;
    bool host_xsave = __get_cpuid(1, &a, &b, &c, &d) && ((c >> 27) & 1); /* OSXSAVE */
    m->xsave = xsave && host_xsave;
    m->cpuid = cpuid;
    return 0;
}

static int set_special_registers(int vcpu_fd, bool xsave, const struct cpu_tables *tables)
{
    struct kvm_sregs s;
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) != 0)
        return -errno;
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | (xsave ? CR4_OSXSAVE : 0);
    s.cr3 = gcvm_shared.pml4_gpa;
    s.efer = EFER_SCE | EFER_LME | EFER_LMA;
    struct kvm_segment code = {.base = 0,
                               .limit = 0xffffffff,
                               .selector = SEL_CODE,
                               .type = 11,
                               .present = 1,
                               .s = 1,
                               .l = 1,
                               .g = 1};
    struct kvm_segment data = {.base = 0,
                               .limit = 0xffffffff,
                               .selector = SEL_DATA,
                               .type = 3,
                               .present = 1,
                               .s = 1,
                               .db = 1,
                               .g = 1};
    struct kvm_segment tss = {.base = (uint64_t)&tables->tss,
                              .limit = sizeof tables->tss - 1,
                              .selector = SEL_TSS,
                              .type = 11,
                              .present = 1};
    s.cs = code;
    s.ds = s.es = s.ss = s.fs = s.gs = data;
    s.gs.base = (uint64_t)&tables->cpu; /* the stubs' per-vCPU data */
    s.tr = tss;
    s.gdt.base = (uint64_t)tables->gdt;
    s.gdt.limit = sizeof tables->gdt - 1;
    s.idt.base = (uint64_t)tables->idt;
    s.idt.limit = sizeof tables->idt - 1;
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) != 0)
        return -errno;
    return 0;
}

static int set_msrs(int vcpu_fd)
{
    const struct kvm_msr_entry entries[] = {
        {.index = MSR_STAR, .data = (uint64_t)SEL_CODE << 32},
        {.index = MSR_LSTAR, .data = (uint64_t)gcvm_guest_syscall_entry},
        {.index = MSR_CSTAR, .data = (uint64_t)gcvm_guest_syscall_entry},
        {.index = MSR_SFMASK, .data = SYSCALL_CLEARS_FLAGS}};
    enum { COUNT = sizeof entries / sizeof entries[0] };
    /* On the stack: a vCPU is made for a thread that may start while another holds a
     * malloc lock in guest mode (address_space.c, grow). */
    _Alignas(struct kvm_msrs) uint8_t buffer[sizeof(struct kvm_msrs) + sizeof entries];
    struct kvm_msrs *msrs = (struct kvm_msrs *)buffer;
    memset(buffer, 0, sizeof buffer);
    msrs->nmsrs = COUNT;
    memcpy(msrs->entries, entries, sizeof entries);
    int rc = ioctl(vcpu_fd, KVM_SET_MSRS, msrs);
    return rc == COUNT ? 0 : -EINVAL;
}

static int set_xcr0(int vcpu_fd)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    struct kvm_xcrs xcrs = {.nr_xcrs = 1};
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = ((uint64_t)hi << 32) | lo; /* the same state as the host uses */
    if (ioctl(vcpu_fd, KVM_SET_XCRS, &xcrs) == 0)
        return 0;
    xcrs.xcrs[0].value = 7; /* x87, SSE, AVX */
    return ioctl(vcpu_fd, KVM_SET_XCRS, &xcrs) == 0 ? 0 : -errno;
}

/* Maps what the guest needs before it can take its first fault: the guest runtime's
 * code and data sections (and each vCPU's tables, kvm_create_vcpu). */
extern char __start_gcvm_guest_text[], __stop_gcvm_guest_text[];
extern char __start_gcvm_guest_data[], __stop_gcvm_guest_data[];

static int map_guest_runtime(void)
{
    uintptr_t text = (uintptr_t)__start_gcvm_guest_text,
              text_end = (uintptr_t)__stop_gcvm_guest_text;
    uintptr_t data = (uintptr_t)__start_gcvm_guest_data,
              data_end = (uintptr_t)__stop_gcvm_guest_data;
    int rc = aspace_map_eager(text, text_end - text, false);
    if (rc == 0)
        rc = aspace_map_eager(data, data_end - data, true);
    return rc;
}

bool kvm_device_usable(const char *device)
{
    int fd = open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    int vm = ioctl(fd, KVM_CREATE_VM, 0);
    if (vm >= 0)
        close(vm);
    close(fd);
    return vm >= 0;
}

int kvm_create_machine(struct kvm_machine *m, const char *device, char *err, size_t err_len)
{
    *m = (struct kvm_machine){.kvm_fd = -1, .vm_fd = -1};
    bool kmod = strcmp(device, KMOD_DEVICE) == 0;
    m->kvm_fd = open(device, O_RDWR | O_CLOEXEC);
    if (m->kvm_fd < 0) {
        int e = errno;
        snprintf(err, err_len, "cannot open %s: %s%s", device, strerror(e),
                 e != ENOENT ? (e == EACCES ? " (ask for access to it, or run as root)" : "")
                 : kmod      ? " (load the module: insmod gcvm.ko, see docs/kmod.md)"
                             : " (KVM is not available on this machine)");
        return e == EACCES ? -EACCES : -ENODEV;
    }
    if (ioctl(m->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        snprintf(err, err_len, "%s speaks an unknown API version", device);
        return -ENODEV;
    }
    m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
    if (m->vm_fd < 0) {
        int e = errno;
        snprintf(err, err_len, "KVM_CREATE_VM on %s failed: %s%s", device, strerror(e),
                 kmod && e == EBUSY ? " (another hypervisor holds VT-x: a running KVM VM?)" : "");
        return e == EBUSY ? -EBUSY : -ENODEV;
    }
    int rc = get_supported_cpuid(m);
    if (rc != 0) {
        snprintf(err, err_len, "KVM refused CPUID: %s", strerror(-rc));
        return -ENODEV;
    }
    rc = aspace_init(m->vm_fd, m->phys_bits, err, err_len);
    if (rc != 0)
        return -ENODEV;
    rc = map_guest_runtime();
    if (rc != 0) {
        snprintf(err, err_len, "cannot map the guest runtime: %s", strerror(-rc));
        return -ENODEV;
    }
    return 0;
}

int kvm_create_vcpu(const struct kvm_machine *m, unsigned id, struct vcpu *v, char *err,
                    size_t err_len)
{
    *v = (struct vcpu){.fd = -1, .id = id};
    struct cpu_tables *tables =
        mmap(NULL, sizeof *tables, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tables == MAP_FAILED) {
        snprintf(err, err_len, "out of memory for the guest's CPU tables");
        return -ENOMEM;
    }
    build_tables(tables);
    int rc = aspace_map_eager((uint64_t)tables, sizeof *tables, true);
    if (rc != 0) {
        snprintf(err, err_len, "cannot map the vCPU's tables: %s", strerror(-rc));
        return -ENODEV;
    }
    v->cpu = &tables->cpu;
    v->flush_stack_top = (uint64_t)tables->flush_stack + sizeof tables->flush_stack;
    v->ist1_top = tables->tss.ist[0];
    v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
    if (v->fd < 0) {
        snprintf(err, err_len, "KVM_CREATE_VCPU failed: %s", strerror(errno));
        return -ENODEV;
    }
    int size = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    v->run = size > 0 ? mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0)
                      : MAP_FAILED;
    if (v->run == MAP_FAILED) {
        snprintf(err, err_len, "cannot map the vCPU's run structure: %s", strerror(errno));
        return -ENODEV;
    }
    if (ioctl(v->fd, KVM_SET_CPUID2, m->cpuid) != 0) {
        snprintf(err, err_len, "KVM refused CPUID: %s", strerror(errno));
        return -ENODEV;
    }
    rc = set_special_registers(v->fd, m->xsave, tables);
    if (rc == 0)
        rc = set_msrs(v->fd);
    if (rc == 0 && m->xsave)
        rc = set_xcr0(v->fd);
    if (rc != 0) {
        snprintf(err, err_len, "KVM refused the vCPU's set-up: %s", strerror(-rc));
        return -ENODEV;
    }
    return 0;
}
