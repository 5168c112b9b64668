/* The part of the engine test that needs floating point: host mode only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gcvm.h"

int check_and_print_info(void)
{
    struct gcvm_info info;
    /* The backend asked for, or either where auto chose. */
    const char *wanted = getenv("GCVM_BACKEND");
    if (!wanted || (strcmp(wanted, "kvm") != 0 && strcmp(wanted, "kmod") != 0))
        wanted = NULL;
    if (gcvm_get_info(&info) != 0 ||
        (wanted ? strcmp(info.backend, wanted) != 0
                : strcmp(info.backend, "kvm") != 0 && strcmp(info.backend, "kmod") != 0) ||
        !(info.guest_ns_per_insn > 0) || !(info.host_ns_per_insn > 0) ||
        info.guest_phys_bits < 32 || info.exits == 0 || info.populate_exits == 0) {
        fprintf(stderr, "gcvm_get_info gave implausible figures\n");
        return -1;
    }
    printf("%s: guest ring 0 %s (%.1f ns per instruction, host %.3f), MAXPHYADDR %u, "
           "%llu exits, %llu memory slots\n",
           info.backend, info.hardware ? "on hardware" : "emulated", info.guest_ns_per_insn,
           info.host_ns_per_insn, info.guest_phys_bits, (unsigned long long)info.exits,
           (unsigned long long)info.memslots);
    return 0;
}
