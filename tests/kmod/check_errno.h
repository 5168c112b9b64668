/* The check the kernel-module tests share: a failed condition stops the test with its
 * location and errno, which is what a failed system call leaves to explain it. */
#ifndef GCVM_TESTS_VM_CHECK_ERRNO_H
#define GCVM_TESTS_VM_CHECK_ERRNO_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond,     \
                    errno);                                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
