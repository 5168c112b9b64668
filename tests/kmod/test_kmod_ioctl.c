/* The kernel module against bad input and abrupt ends, run inside the emulated VT-x
 * machine (tests/vm/tests.list), where the kernel's own reports (oops, BUG, warnings)
 * fail the test too.
 *
 * usage: test_kmod_ioctl checks              each argument check, with the errno it gives
 *        test_kmod_ioctl fuzz SEED ROUNDS    random ioctls with random arguments on
 *                                            /dev/gcvm, a VM and a vCPU; some run it
 *        test_kmod_ioctl leak CYCLES         (at least 10) processes that make a VM and
 *                                            use it, then exit: free memory must come back
 *        test_kmod_ioctl kill ROUNDS         processes killed while in guest mode
 *        test_kmod_ioctl vcpus THREADS ROUNDS
 *                                            a VM with a vCPU per thread, all running a
 *                                            guest that writes memory, while another
 *                                            thread forks (which write-protects it all)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_errno.h"
#include "gcvm/gcvm.h"

static uint64_t rng_state = 1;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int open_device(void)
{
    int fd = open("/dev/gcvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("SKIP: /dev/gcvm: %s (the module is not loaded)\n", strerror(errno));
        exit(77);
    }
    return fd;
}

/* ---- Argument checks ---- */

static void test_checks(void)
{
    int dev = open_device();
    CHECK(ioctl(dev, KVM_GET_API_VERSION, 0) == KVM_API_VERSION);
    CHECK(ioctl(dev, KVM_CREATE_VM, 7) == -1 && errno == EINVAL);
    CHECK(ioctl(dev, 0xdeadbeef, 0) == -1 && errno == ENOTTY);
    CHECK(ioctl(dev, KVM_GET_SUPPORTED_CPUID, NULL) == -1 && errno == EFAULT);
    int vm = ioctl(dev, KVM_CREATE_VM, 0);
    CHECK(vm >= 0);
    CHECK(ioctl(vm, KVM_CREATE_VCPU, 64) == -1 && errno == EINVAL);
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    CHECK(vcpu >= 0);
    CHECK(ioctl(vm, KVM_CREATE_VCPU, 0) == -1 && errno == EEXIST);

    /* Memory regions: alignment, wrap-around, overlap, flags, slot range. */
    char *mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct kvm_userspace_memory_region r = {.slot = 0,
                                            .guest_phys_addr = 1ull << 30,
                                            .memory_size = 1 << 20,
                                            .userspace_addr = (uint64_t)mem};
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) == 0);
    struct kvm_userspace_memory_region bad = r;
    bad.slot = 1;
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &bad) == -1 && errno == EEXIST);
    bad.guest_phys_addr = (1ull << 30) + 1;
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &bad) == -1 && errno == EINVAL);
    bad.guest_phys_addr = ~0ull & ~0xfffull;
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &bad) == -1 && errno == EINVAL);
    bad = r, bad.slot = 1u << 30;
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &bad) == -1 && errno == EINVAL);
    bad = r, bad.slot = 2, bad.guest_phys_addr = 1ull << 32, bad.flags = KVM_MEM_READONLY;
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &bad) == -1 && errno == EINVAL);
    bad.flags = 0, bad.userspace_addr = 0xffff888000000000ull; /* kernel memory */
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &bad) == -1 && errno == EINVAL);
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, (void *)16) == -1 && errno == EFAULT);

    /* Registers: pointers, and states the module will not run. */
    struct kvm_regs regs;
    CHECK(ioctl(vcpu, KVM_GET_REGS, &regs) == 0);
    regs.rip = 0x0000900000000000ull; /* not canonical */
    CHECK(ioctl(vcpu, KVM_SET_REGS, &regs) == -1 && errno == EINVAL);
    CHECK(ioctl(vcpu, KVM_SET_REGS, (void *)0xffff888000000000ull) == -1 && errno == EFAULT);
    struct kvm_sregs s;
    CHECK(ioctl(vcpu, KVM_GET_SREGS, &s) == 0);
    CHECK(ioctl(vcpu, KVM_SET_SREGS, &s) == -1 && errno == EINVAL); /* not in long mode */
    struct kvm_fpu fpu;
    CHECK(ioctl(vcpu, KVM_GET_FPU, &fpu) == 0 && fpu.fcw == 0x37f && fpu.mxcsr == 0x1f80);
    fpu.mxcsr = 0xffffffff;
    CHECK(ioctl(vcpu, KVM_SET_FPU, &fpu) == -1 && errno == EINVAL);
    static struct kvm_xsave x;
    CHECK(ioctl(vcpu, KVM_GET_XSAVE, &x) == 0);
    x.region[6] = 0xffffffff; /* MXCSR */
    CHECK(ioctl(vcpu, KVM_SET_XSAVE, &x) == -1 && errno == EINVAL);
    static _Alignas(8) char msr_buffer[sizeof(struct kvm_msrs) + 2 * sizeof(struct kvm_msr_entry)];
    struct kvm_msrs *msrs = (struct kvm_msrs *)msr_buffer;
    msrs->nmsrs = 2;
    msrs->entries[0] = (struct kvm_msr_entry){.index = 0xc0000082, .data = 0x1000};
    msrs->entries[1] = (struct kvm_msr_entry){.index = 0x10};
    CHECK(ioctl(vcpu, KVM_SET_MSRS, msrs) == 1); /* the TSC is not the guest's to set */
    msrs->nmsrs = 100000;
    CHECK(ioctl(vcpu, KVM_SET_MSRS, msrs) == -1 && errno == E2BIG);
    struct kvm_xcrs xcrs = {.nr_xcrs = 1, .xcrs = {{.xcr = 0, .value = 1}}};
    CHECK(ioctl(vcpu, KVM_SET_XCRS, &xcrs) == -1 && errno == EINVAL);
    CHECK(ioctl(vcpu, KVM_RUN, 1) == -1 && errno == EINVAL);
    CHECK(mmap(NULL, 8192, PROT_READ, MAP_SHARED, vcpu, 0) == MAP_FAILED);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, vcpu, 4096) == MAP_FAILED);

    /* Another process's VM: every call fails with EIO. */
    pid_t child = fork();
    if (child == 0) {
        bool ok = ioctl(vcpu, KVM_GET_REGS, &regs) == -1 && errno == EIO &&
                  ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) == -1 && errno == EIO &&
                  ioctl(vcpu, KVM_RUN, 0) == -1 && errno == EIO;
        _exit(ok ? 0 : 1);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(vcpu);
    close(vm);
    close(dev);
    puts("PASS");
}

/* ---- Random ioctls ---- */

static const unsigned long commands[] = {KVM_GET_API_VERSION,
                                         KVM_CREATE_VM,
                                         KVM_GET_VCPU_MMAP_SIZE,
                                         KVM_GET_SUPPORTED_CPUID,
                                         KVM_CHECK_EXTENSION,
                                         KVM_CREATE_VCPU,
                                         KVM_SET_USER_MEMORY_REGION,
                                         KVM_RUN,
                                         KVM_GET_REGS,
                                         KVM_SET_REGS,
                                         KVM_GET_SREGS,
                                         KVM_SET_SREGS,
                                         KVM_GET_FPU,
                                         KVM_SET_FPU,
                                         KVM_GET_XSAVE,
                                         KVM_SET_XSAVE,
                                         KVM_SET_MSRS,
                                         KVM_SET_XCRS,
                                         KVM_SET_CPUID2,
                                         KVM_GET_DIRTY_LOG};
enum { COMMANDS = sizeof commands / sizeof commands[0] };

static void on_alarm(int sig)
{
    (void)sig;
}

/* A plausible guest: 64-bit ring 0 with random page tables in a random slot, so that
 * KVM_RUN enters and exits in every way it can. */
static void plausible_state(int vcpu, char *mem)
{
    struct kvm_sregs s;
    ioctl(vcpu, KVM_GET_SREGS, &s);
    s.cr0 = 0x80050033, s.cr4 = 0x620, s.efer = 0x501, s.cr3 = (1ull << 30) + (rnd() & 0xff000);
    s.cs = (struct kvm_segment){
        .selector = 8, .type = 11, .present = 1, .s = 1, .l = 1, .g = 1, .limit = 0xffffffff};
    s.ds = s.es = s.ss = s.fs = s.gs = (struct kvm_segment){
        .selector = 16, .type = 3, .present = 1, .s = 1, .db = 1, .g = 1, .limit = 0xffffffff};
    s.tr = (struct kvm_segment){.selector = 24, .type = 11, .present = 1, .limit = 0x67};
    ioctl(vcpu, KVM_SET_SREGS, &s);
    struct kvm_regs r = {.rip = (uint64_t)mem + (rnd() & 0xfffff), .rflags = 2};
    ioctl(vcpu, KVM_SET_REGS, &r);
}

static void test_fuzz(uint64_t seed, long rounds)
{
    rng_state = seed * 0x9e3779b97f4a7c15ull | 1;
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    int dev = open_device();
    size_t bytes = 1 << 20;
    char *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    int vm = -1, vcpu = -1;
    for (long i = 0; i < rounds; i++) {
        for (size_t k = 0; k < bytes / 8; k += 1 + rnd() % 64) /* random bytes, random code */
            ((uint64_t *)mem)[k] = rnd();
        if (vm < 0 || rnd() % 50 == 0) {
            if (vcpu >= 0)
                close(vcpu);
            if (vm >= 0)
                close(vm);
            vm = ioctl(dev, KVM_CREATE_VM, 0);
            CHECK(vm >= 0);
            vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
            CHECK(vcpu >= 0);
            struct kvm_userspace_memory_region r = {.guest_phys_addr = 1ull << 30,
                                                    .memory_size = bytes,
                                                    .userspace_addr = (uint64_t)mem};
            CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) == 0);
        }
        const int fds[] = {dev, vm, vcpu};
        int fd = fds[rnd() % 3];
        unsigned long cmd = commands[rnd() % COMMANDS];
        void *arg;
        switch (rnd() % 5) {
        case 0: arg = NULL; break;
        case 1: arg = (void *)(0xffff888000000000ull + (rnd() & 0xffff000)); break;
        case 2: arg = (void *)(rnd() & 0x7fffffffffffull); break;
        default: arg = mem + (rnd() % (bytes - 8192)); break;
        }
        if (cmd == KVM_RUN) {
            if (rnd() % 2)
                plausible_state(vcpu, mem);
            arg = NULL;
            alarm(1); /* random code may loop: the signal ends KVM_RUN */
        }
        if (cmd == KVM_CREATE_VM || cmd == KVM_CREATE_VCPU) {
            int made = ioctl(fd, cmd, (unsigned long)arg & 3);
            if (made >= 0)
                close(made);
            continue;
        }
        ioctl(fd, cmd, arg);
        alarm(0);
    }
    close(vcpu);
    close(vm);
    close(dev);
    printf("%ld random ioctls\nPASS\n", rounds);
}

/* ---- Process ends ---- */

static long free_kib(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemFree: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* A child that makes a VM through the engine, enters guest mode and touches memory. */
static void use_engine_and_exit(void)
{
    if (gcvm_init() != 0) {
        fprintf(stderr, "gcvm_init: %s\n", gcvm_last_error());
        _exit(3);
    }
    char *p = malloc((size_t)64 * 4096);
    if (gcvm_enter() != 0)
        _exit(4);
    for (int i = 0; i < 64; i++)
        p[(size_t)i * 4096] = 1;
    gcvm_exit();
    _exit(0);
}

static void test_leak(long cycles)
{
    CHECK(cycles >= 10);
    close(open_device());
    long before = 0;
    for (long i = 0; i < cycles; i++) {
        if (i == cycles / 10)
            before = free_kib(); /* after caches have warmed up */
        pid_t child = fork();
        if (child == 0)
            use_engine_and_exit();
        int status;
        CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    long after = free_kib(), lost = before - after;
    long per_cycle = lost * 1024 / (cycles - cycles / 10);
    printf("free memory %ld KiB before, %ld KiB after %ld processes: %ld bytes per process\n",
           before, after, cycles - cycles / 10, per_cycle);
    CHECK(per_cycle < 4096); /* a page per VM would show */
    puts("PASS");
}

static void test_kill(long rounds)
{
    close(open_device());
    for (long i = 0; i < rounds; i++) {
        pid_t child = fork();
        if (child == 0) {
            if (gcvm_init() != 0 || gcvm_enter() != 0)
                _exit(3);
            for (volatile unsigned long n = 0;; n++) { /* in guest mode until killed */
            }
        }
        struct timespec wait = {0, 20000000 + (long)(rnd() % 80000000)};
        nanosleep(&wait, NULL);
        kill(child, i % 2 ? SIGKILL : SIGTERM);
        int status;
        CHECK(waitpid(child, &status, 0) == child);
        CHECK(WIFSIGNALED(status) && (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGTERM));
    }
    printf("%ld processes killed in guest mode\nPASS\n", rounds);
}

/* ---- Several vCPUs ---- */

/* The guest of every vCPU: 64-bit ring 0, page tables mapping the first 2 MiB of
 * guest-physical memory one to one, and this loop at CODE_GPA:
 *     1: inc %rbx; mov %rbx, (%rdi); mov %ebx, %eax; out %al, $0x10; jmp 1b
 * Each vCPU writes its count to its own page (rdi) and reports it on port 0x10. */
#define GUEST_BYTES (2ul << 20)
#define CODE_GPA 0x10000ul
#define DATA_GPA 0x100000ul
#define COUNT_PORT 0x10
static const uint8_t count_loop[] = {0x48, 0xff, 0xc3, 0x48,       0x89, 0x1f,
                                     0x89, 0xd8, 0xe6, COUNT_PORT, 0xeb, 0xf4};

struct vcpu_thread {
    pthread_t thread;
    int vm, index;
    char *memory;
    long rounds, wrong;
};
static volatile int vcpus_running;

static void *run_counting_vcpu(void *arg)
{
    struct vcpu_thread *t = arg;
    int vcpu = ioctl(t->vm, KVM_CREATE_VCPU, t->index), device = open_device();
    long size = ioctl(device, KVM_GET_VCPU_MMAP_SIZE, 0);
    close(device);
    CHECK(vcpu >= 0 && size > 0);
    struct kvm_run *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    CHECK(run != MAP_FAILED);
    struct kvm_sregs s;
    CHECK(ioctl(vcpu, KVM_GET_SREGS, &s) == 0);
    s.cr0 = 0x80050033, s.cr4 = 0x620, s.efer = 0x501, s.cr3 = 0x1000;
    s.cs = (struct kvm_segment){
        .selector = 8, .type = 11, .present = 1, .s = 1, .l = 1, .g = 1, .limit = 0xffffffff};
    s.ds = s.es = s.ss = s.fs = s.gs = (struct kvm_segment){
        .selector = 16, .type = 3, .present = 1, .s = 1, .db = 1, .g = 1, .limit = 0xffffffff};
    s.tr = (struct kvm_segment){.selector = 24, .type = 11, .present = 1, .limit = 0x67};
    CHECK(ioctl(vcpu, KVM_SET_SREGS, &s) == 0);
    uint64_t data = DATA_GPA + (uint64_t)t->index * 4096;
    struct kvm_regs r = {.rip = CODE_GPA, .rdi = data, .rflags = 2};
    CHECK(ioctl(vcpu, KVM_SET_REGS, &r) == 0);
    for (long round = 1; round <= t->rounds;) {
        if (ioctl(vcpu, KVM_RUN, 0) != 0) {
            CHECK(errno == EINTR);
            continue;
        }
        const uint8_t *port_data = (const uint8_t *)run + run->io.data_offset;
        bool right = run->exit_reason == KVM_EXIT_IO && run->io.port == COUNT_PORT &&
                     *port_data == (uint8_t)round &&
                     *(volatile uint64_t *)(t->memory + data) == (uint64_t)round;
        t->wrong += !right;
        round++;
    }
    munmap(run, (size_t)size);
    close(vcpu);
    __atomic_fetch_sub(&vcpus_running, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_vcpus(int threads, long rounds)
{
    CHECK(threads >= 1 && threads <= 64 && rounds >= 1);
    int vm = ioctl(open_device(), KVM_CREATE_VM, 0);
    CHECK(vm >= 0);
    char *memory =
        mmap(NULL, GUEST_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(memory != MAP_FAILED);
    uint64_t *pml4 = (uint64_t *)(memory + 0x1000), *pdpt = (uint64_t *)(memory + 0x2000);
    uint64_t *pd = (uint64_t *)(memory + 0x3000);
    pml4[0] = 0x2000 | 3, pdpt[0] = 0x3000 | 3, pd[0] = 0x83; /* one 2 MiB page at 0 */
    memcpy(memory + CODE_GPA, count_loop, sizeof count_loop);
    struct kvm_userspace_memory_region slot = {
        .guest_phys_addr = 0, .memory_size = GUEST_BYTES, .userspace_addr = (uint64_t)memory};
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) == 0);

    static struct vcpu_thread t[64];
    vcpus_running = threads;
    for (int i = 0; i < threads; i++) {
        t[i] = (struct vcpu_thread){.vm = vm, .index = i, .memory = memory, .rounds = rounds};
        CHECK(pthread_create(&t[i].thread, NULL, run_counting_vcpu, &t[i]) == 0);
    }
    long forks = 0;
    while (vcpus_running > 0) { /* each fork write-protects every page of the guest */
        pid_t child = fork();
        CHECK(child >= 0);
        if (child == 0)
            _exit(0);
        CHECK(waitpid(child, NULL, 0) == child);
        forks++;
    }
    long wrong = 0;
    for (int i = 0; i < threads; i++) {
        CHECK(pthread_join(t[i].thread, NULL) == 0);
        wrong += t[i].wrong;
    }
    /* A second vCPU with an id in use is refused. */
    int again = ioctl(vm, KVM_CREATE_VCPU, 0), taken = -1;
    if (again >= 0)
        taken = ioctl(vm, KVM_CREATE_VCPU, 0);
    CHECK(again >= 0 && taken == -1 && errno == EEXIST);
    CHECK(ioctl(vm, KVM_CREATE_VCPU, 64) == -1 && errno == EINVAL);
    close(again);
    close(vm);
    munmap(memory, GUEST_BYTES);
    printf("%d vCPUs in one VM, %ld rounds each, while %ld forks write-protected their memory: "
           "%ld wrong\n",
           threads, rounds, forks, wrong);
    CHECK(wrong == 0);
    puts("PASS");
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "checks") == 0)
        test_checks();
    else if (strcmp(what, "fuzz") == 0 && argc == 4)
        test_fuzz(strtoull(argv[2], NULL, 10), atol(argv[3]));
    else if (strcmp(what, "leak") == 0 && argc == 3 && atol(argv[2]) >= 10)
        test_leak(atol(argv[2]));
    else if (strcmp(what, "kill") == 0 && argc == 3)
        test_kill(atol(argv[2]));
    else if (strcmp(what, "vcpus") == 0 && argc == 4)
        test_vcpus(atoi(argv[2]), atol(argv[3]));
    else {
        fprintf(stderr,
                "usage: test_kmod_ioctl checks | fuzz SEED ROUNDS | leak CYCLES | kill ROUNDS | "
                "vcpus THREADS ROUNDS\n");
        return 2;
    }
    return 0;
}
