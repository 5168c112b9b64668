/* The vDSO in guest mode. Its functions read the kernel's [vvar] page, which KVM cannot
 * map, so the vDSO's pages are never mapped in the guest: a call faults on its first
 * instruction, and the host makes the equivalent system call and returns to the caller.
 * docs/engine.md ("System calls"). */
#define _GNU_SOURCE
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

#include "engine.h"

struct vdso_function {
    const char *name;
    long syscall_nr;
    uint64_t address;
};
static struct vdso_function vdso_functions[] = {{"__vdso_clock_gettime", SYS_clock_gettime, 0},
                                                {"__vdso_gettimeofday", SYS_gettimeofday, 0},
                                                {"__vdso_time", SYS_time, 0},
                                                {"__vdso_getcpu", SYS_getcpu, 0},
                                                {"__vdso_clock_getres", SYS_clock_getres, 0}};
static uint64_t vdso_start, vdso_end;

void vdso_find_functions(void)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
    if (!eh)
        return;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
    uint64_t load_offset = 0;
    const Elf64_Dyn *dyn = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            load_offset = (uint64_t)eh + ph[i].p_offset - ph[i].p_vaddr;
            vdso_start = (uint64_t)eh;
            vdso_end = (uint64_t)eh + ((ph[i].p_memsz + PAGE - 1) & ~(PAGE - 1));
        }
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const Elf64_Dyn *)((const char *)eh + ph[i].p_offset);
    }
    const Elf64_Sym *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *hash = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB)
            symtab = (const Elf64_Sym *)(load_offset + dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_STRTAB)
            strtab = (const char *)(load_offset + dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_HASH)
            hash = (const uint32_t *)(load_offset + dyn->d_un.d_ptr);
    }
    if (!symtab || !strtab || !hash)
        return;
    for (uint32_t i = 0; i < hash[1]; i++)
        for (size_t k = 0; k < sizeof vdso_functions / sizeof vdso_functions[0]; k++)
            if (strcmp(strtab + symtab[i].st_name, vdso_functions[k].name) == 0)
                vdso_functions[k].address = load_offset + symtab[i].st_value;
}

bool vdso_emulate_call(struct fault_frame *f)
{
    if (f->rip < vdso_start || f->rip >= vdso_end)
        return false;
    for (size_t k = 0; k < sizeof vdso_functions / sizeof vdso_functions[0]; k++) {
        if (vdso_functions[k].address != f->rip)
            continue;
        f->rax = (uint64_t)raw_syscall6(vdso_functions[k].syscall_nr, (long)f->rdi, (long)f->rsi,
                                        (long)f->rdx, 0, 0, 0);
        f->rip = *(uint64_t *)f->rsp; /* return to the caller */
        f->rsp += 8;
        return true;
    }
    crash_report("a vDSO function the engine does not know was called", f, f->rip);
}

bool vdso_overlaps(uint64_t addr, uint64_t len)
{
    return addr < vdso_end && addr + len > vdso_start;
}
