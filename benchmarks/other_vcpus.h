/* Other threads holding a vCPU while a guest-mode microbenchmark runs, as the other
 * mutators of a multi-threaded program would. With more than one vCPU held, what lowers a
 * page's access or clears its dirty bits makes every other vCPU flush its TLB (a
 * shootdown: a kick for each vCPU inside KVM_RUN), and a forwarded system call masks the
 * kick signal around itself (docs/engine.md, "TLB coherence between vCPUs"). */
#ifndef GCVM_OTHER_VCPUS_H
#define GCVM_OTHER_VCPUS_H

#include <stdbool.h>

/* Starts count threads that each write a page of their own in a loop until
 * other_vcpus_stop: in guest mode (each on its own vCPU) when guest, else in host mode.
 * Returns once every one is running; 0, or -1 with a line on stderr naming what failed
 * (those started are stopped). count 0 starts nothing. */
int other_vcpus_start(int count, bool guest);

/* Stops and joins the threads other_vcpus_start started. */
void other_vcpus_stop(void);

#endif
