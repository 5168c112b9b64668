/* A program `gcvm run` runs unmodified: it prints, allocates, and exits with the status
 * given as its first argument. It reports its privilege level, read from CS: 0 in guest
 * mode, 3 in host mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    unsigned short cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    size_t bytes = (size_t)1 << 20;
    char *block = malloc(bytes);
    if (!block)
        return 100;
    memset(block, 'g', bytes);
    size_t sum = 0;
    for (size_t i = 0; i < bytes; i += 4096)
        sum += (size_t)block[i];
    free(block);
    printf("ring %u, %s, sum %zu, %.2f\n", cs & 3u, argc > 2 ? argv[2] : "-", sum, 1.5 * 3);
    return argc > 1 ? atoi(argv[1]) : 0;
}
