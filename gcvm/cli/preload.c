/* libgcvm-run.so: loaded by `gcvm run` with LD_PRELOAD, it puts the program's main
 * thread in guest mode before main() runs. It acts only when GCVM_RUN=1 is set, and
 * unsets it, so that programs the program starts run in host mode. */
#include <stdio.h>
#include <stdlib.h>

#include "gcvm/gcvm.h"

__attribute__((constructor)) static void enter_guest_mode(void)
{
    const char *run = getenv("GCVM_RUN");
    if (!run || run[0] != '1')
        return;
    unsetenv("GCVM_RUN");
    unsetenv("LD_PRELOAD");
    int rc = gcvm_init();
    if (rc == 0)
        rc = gcvm_enter();
    if (rc != 0) {
        fprintf(stderr, "gcvm run: cannot enter guest mode: %s\n", gcvm_last_error());
        exit(127);
    }
}
