/* The gcvm command.
 *   gcvm info [--calibrate]        what this machine offers the engine and the collector,
 *                                  and the barrier auto chooses (measured again on request)
 *   gcvm run [--] PROGRAM [ARGS]   run a dynamically linked program with its main thread
 *                                  in guest mode; exits with the program's status */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gcvm/gc-barrier-auto.h"
#include "gcvm/gcvm.h"
#include "host_features.h"

static void usage(FILE *to)
{
    fprintf(to, "usage: gcvm info [--calibrate]\n"
                "       gcvm run [--] PROGRAM [ARGS...]\n"
                "  info  what this machine offers: KVM, whether guest ring 0 runs on hardware or\n"
                "        is emulated, physical address widths, userfaultfd write-protect,\n"
                "        PAGEMAP_SCAN and soft-dirty bits; the barrier auto chooses here and\n"
                "        what it measured (cached per machine; --calibrate measures again)\n"
                "  run   runs PROGRAM (dynamically linked) with its main thread in guest mode\n"
                "        and exits with its status; GCVM_TRACE=1 logs every exit\n");
}

static const char *cpu_virtualization(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return "unknown (/proc/cpuinfo unreadable)";
    char line[4096];
    const char *found = "none (no vmx or svm flag: KVM, if present, emulates guest ring 0)";
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        if (strstr(line, " vmx"))
            found = "Intel VT-x (vmx)";
        else if (strstr(line, " svm"))
            found = "AMD-V (svm)";
        break;
    }
    fclose(f);
    return found;
}

static void print_auto_barrier(int recalibrate)
{
    struct gc_barrier_auto_choice c;
    gc_barrier_auto_query(recalibrate, &c);
    printf("auto barrier:              %s (%s%s)\n", gc_barrier_name(c.kind),
           c.from_cache      ? "cached in "
           : c.cache_file[0] ? "measured now, cached in "
                             : "measured now",
           c.cache_file);
    printf("  measured:                %s\n", c.figures);
    printf("  for:                     %s\n", c.key);
    if (c.from_cache)
        printf("                           gcvm info --calibrate (or %s=1) measures again\n",
               GC_BARRIER_AUTO_CALIBRATE_ENV);
}

static int info(int recalibrate)
{
    unsigned a = 0, b, c, d;
    __get_cpuid(0x80000008, &a, &b, &c, &d);
    printf("CPU virtualization:        %s\n", cpu_virtualization());
    printf("host MAXPHYADDR:           %u bits\n", a & 0xff);
    if (access("/dev/kvm", F_OK) != 0)
        printf("/dev/kvm:                  missing\n");
    else if (access("/dev/kvm", R_OK | W_OK) != 0)
        printf("/dev/kvm:                  present, not accessible to this user (add it to "
               "group kvm)\n");
    else
        printf("/dev/kvm:                  present\n");
    struct gcvm_info gi;
    if (gcvm_init() == 0 && gcvm_get_info(&gi) == 0) {
        printf("engine backend:            %s\n", gi.backend);
        printf("guest ring 0:              %s (%.1f ns per instruction; host %.2f)\n",
               gi.hardware ? "hardware" : "emulated", gi.guest_ns_per_insn, gi.host_ns_per_insn);
        if (!gi.hardware)
            printf("                           emulated: correct but slow; gcvm figures measured "
                   "here are not hardware timings\n");
        printf("guest MAXPHYADDR:          %u bits\n", gi.guest_phys_bits);
    } else {
        printf("engine:                    unusable: %s\n", gcvm_last_error());
    }
    printf("kmod backend (/dev/gcvm):  %s\n", access("/dev/gcvm", F_OK) != 0
                                                  ? "absent (load kmod/gcvm.ko: docs/kmod.md)"
                                                  : "present (GCVM_BACKEND=kmod; auto prefers it)");
    char line[256];
    probe_userfaultfd_wp(line, sizeof line);
    printf("userfaultfd write-protect: %s\n", line);
    probe_pagemap_scan(line, sizeof line);
    printf("PAGEMAP_SCAN:              %s\n", line);
    probe_soft_dirty(line, sizeof line);
    printf("soft-dirty bits:           %s\n", line);
    print_auto_barrier(recalibrate);
    return 0;
}

/* PROGRAM's path as execvp would find it, or NULL. */
static char *find_program(const char *name, char *buf, size_t len)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 && snprintf(buf, len, "%s", name) < (int)len ? buf : NULL;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, len, "%.*s/%s", (int)n, p, name);
        if (access(buf, X_OK) == 0)
            return buf;
        p += n + (p[n] == ':');
    }
    return NULL;
}

/* 1 if the ELF file has an interpreter (is dynamically linked), 0 if not, -1 if it is
 * not a 64-bit ELF file. */
static int dynamically_linked(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    Elf64_Ehdr eh;
    int result = -1;
    if (fd >= 0 && pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
        memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64) {
        result = 0;
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) ==
                    (ssize_t)sizeof ph &&
                ph.p_type == PT_INTERP)
                result = 1;
        }
    }
    if (fd >= 0)
        close(fd);
    return result;
}

/* The preload library: GCVM_RUN_LIBRARY, else beside this executable, else in
 * ../lib/gcvm from it (an installed tree). */
static const char *find_preload(char *buf, size_t len)
{
    const char *env = getenv("GCVM_RUN_LIBRARY");
    if (env && *env)
        return env;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = 0;
    *strrchr(self, '/') = 0;
    static const char *const places[] = {"/libgcvm-run.so", "/../lib/gcvm/libgcvm-run.so"};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        if (strlen(self) + strlen(places[i]) >= len)
            return NULL;
        strcpy(buf, self);
        strcat(buf, places[i]);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

static int run(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--") == 0)
        argc--, argv++;
    if (argc == 0) {
        fprintf(stderr, "gcvm run: no program given\n");
        usage(stderr);
        return 2;
    }
    char path[PATH_MAX], preload[PATH_MAX];
    if (!find_program(argv[0], path, sizeof path)) {
        fprintf(stderr, "gcvm run: %s: no such executable program\n", argv[0]);
        return 127;
    }
    int dynamic = dynamically_linked(path);
    if (dynamic != 1) {
        fprintf(stderr,
                "gcvm run: %s is %s; gcvm run needs a dynamically linked 64-bit "
                "program (link it with libgcvm and call gcvm_enter() instead)\n",
                path, dynamic == 0 ? "statically linked" : "not a 64-bit ELF program");
        return 127;
    }
    const char *lib = find_preload(preload, sizeof preload);
    if (!lib) {
        fprintf(stderr, "gcvm run: libgcvm-run.so not found beside gcvm or in ../lib/gcvm; "
                        "set GCVM_RUN_LIBRARY to its path\n");
        return 127;
    }
    const char *old = getenv("LD_PRELOAD");
    char value[2 * PATH_MAX];
    snprintf(value, sizeof value, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", value, 1);
    setenv("LD_BIND_NOW", "1", 0); /* fewer exits: no lazy binding in guest mode */
    setenv("GCVM_RUN", "1", 1);
    execv(path, argv);
    fprintf(stderr, "gcvm run: cannot run %s: %s\n", path, strerror(errno));
    return 127;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "info") == 0 && argc == 2)
        return info(0);
    if (strcmp(argv[1], "info") == 0 && argc == 3 && strcmp(argv[2], "--calibrate") == 0)
        return info(1);
    if (strcmp(argv[1], "info") == 0) {
        fprintf(stderr, "gcvm info: unknown argument '%s' (the only one is --calibrate)\n",
                argv[2]);
        return 2;
    }
    if (strcmp(argv[1], "run") == 0)
        return run(argc - 2, argv + 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "gcvm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
