/* The part of the engine test that needs floating point: host mode only. */
#include <stdio.h>
#include <string.h>

#include "gcvm/gcvm.h"

int check_and_print_info(void)
{
    struct gcvm_info info;
    if (gcvm_get_info(&info) != 0 || strcmp(info.backend, "kvm") != 0 ||
        !(info.guest_ns_per_insn > 0) || !(info.host_ns_per_insn > 0) ||
        info.guest_phys_bits < 32 || info.exits == 0 || info.populate_exits == 0) {
        fprintf(stderr, "gcvm_get_info gave implausible figures\n");
        return -1;
    }
    printf("kvm: guest ring 0 %s (%.1f ns per instruction, host %.3f), MAXPHYADDR %u, "
           "%llu exits, %llu memory slots\n",
           info.hardware ? "on hardware" : "emulated", info.guest_ns_per_insn,
           info.host_ns_per_insn, info.guest_phys_bits, (unsigned long long)info.exits,
           (unsigned long long)info.memslots);
    return 0;
}
