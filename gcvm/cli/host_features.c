/* What `gcvm info` reports about the host besides KVM: the page-tracking mechanisms a
 * collector can use without the engine, each probed by trying it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gcvm/linux-abi.h"
#include "host_features.h"

void probe_userfaultfd_wp(char *out, size_t len)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (fd < 0) {
        snprintf(out, len, "no (userfaultfd: %s%s)", strerror(errno),
                 errno == EPERM ? "; see vm.unprivileged_userfaultfd" : "");
        return;
    }
    struct uffdio_api api = {.api = UFFD_API};
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        snprintf(out, len, "no (UFFDIO_API: %s)", strerror(errno));
    } else {
        bool wp = api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP;
        bool async = api.features & UFFD_FEATURE_WP_ASYNC;
        snprintf(out, len, "%s%s", wp ? "yes" : "no",
                 wp ? (async ? " (asynchronous mode too)" : " (no asynchronous mode)") : "");
    }
    close(fd);
}

void probe_pagemap_scan(char *out, size_t len)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(out, len, "no (/proc/self/pagemap: %s)", strerror(errno));
        return;
    }
    static char page[4096] __attribute__((aligned(4096)));
    struct pm_scan_arg arg = {.size = sizeof arg,
                              .start = (uint64_t)page,
                              .end = (uint64_t)page + sizeof page,
                              .return_mask = 1};
    struct {
        uint64_t start, end, categories;
    } vec[1];
    arg.vec = (uint64_t)vec;
    arg.vec_len = 1;
    int rc = ioctl(fd, PAGEMAP_SCAN, &arg);
    snprintf(out, len, "%s",
             rc >= 0                              ? "yes"
             : errno == ENOTTY || errno == EINVAL ? "no (Linux 6.7 or later)"
                                                  : strerror(errno));
    close(fd);
}

void probe_soft_dirty(char *out, size_t len)
{
    int clear = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t entry = 0;
    bool ok = clear >= 0 && pagemap >= 0 && p != MAP_FAILED;
    if (ok) {
        p[0] = 1;
        ok = write(clear, "4", 1) == 1;
        p[0] = 2; /* written after clearing: soft-dirty again if the kernel tracks it */
        ok = ok && pread(pagemap, &entry, sizeof entry, (off_t)((uintptr_t)p / 4096 * 8)) ==
                       (ssize_t)sizeof entry;
    }
    snprintf(out, len, "%s",
             ok && (entry >> 55 & 1) ? "yes" : "no (kernel without CONFIG_MEM_SOFT_DIRTY)");
    if (p != MAP_FAILED)
        munmap(p, 4096);
    if (clear >= 0)
        close(clear);
    if (pagemap >= 0)
        close(pagemap);
}
