/* The engine's contract, exercised in guest mode.
 *
 * On the development machines guest ring 0 is emulated instruction by instruction, and
 * the vector instructions the emulator cannot run are run natively by the engine
 * (docs/engine.md); the "stdio" test checks that the C library's vector code works. A
 * check that fails in guest mode leaves guest mode before it reports.
 *
 * usage: test_engine NAME   (NAME: one of the tests below; exits 77 without /dev/kvm) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gcvm/gcvm.h"

static int failed_line;
static const char *failed_what;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failed_line = __LINE__;                                                                \
            failed_what = #cond;                                                                   \
            if (gcvm_in_guest())                                                                   \
                gcvm_exit();                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, failed_line, failed_what);      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define PAGE_BYTES ((size_t)4096)

/* ---- Enter and leave, system calls ---- */

static uint32_t mxcsr_controls(void)
{
    uint32_t mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    return mxcsr & ~0x3fu; /* masks and rounding, not the sticky exception flags */
}

static void test_enter_exit(void)
{
    pid_t host_pid = getpid();
    uint32_t controls = mxcsr_controls();
    for (int i = 0; i < 20; i++) {
        CHECK(gcvm_in_guest() == 0);
        CHECK(gcvm_enter() == 0);
        CHECK(gcvm_in_guest() == 1);
        CHECK(gcvm_enter() == 0); /* already there */
        CHECK(getpid() == host_pid);
        CHECK(gcvm_exit() == 0);
        CHECK(mxcsr_controls() == controls); /* the floating-point masks came back */
    }
    CHECK(gcvm_exit() == -EINVAL);
}

static void test_files_and_pipes(void)
{
    char path[] = "/tmp/gcvm-engine-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    int p[2];
    CHECK(gcvm_enter() == 0);
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "ring0", 5) == 5);
    char buf[8] = {0};
    CHECK(read(p[0], buf, sizeof buf) == 5);
    CHECK(buf[0] == 'r' && buf[4] == '0');
    CHECK(write(fd, "written in guest mode\n", 22) == 22);
    CHECK(close(fd) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
    /* errno comes back as in host mode */
    errno = 0;
    CHECK(close(-1) == -1);
    CHECK(errno == EBADF);
    CHECK(open("/nonexistent/gcvm", O_RDONLY) == -1);
    CHECK(errno == ENOENT);
    CHECK(gcvm_exit() == 0);
    CHECK(errno == ENOENT);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char line[64];
    CHECK(fgets(line, sizeof line, f) && strcmp(line, "written in guest mode\n") == 0);
    fclose(f);
    unlink(path);
}

/* ---- The C library's vector code: stdio, string functions, floating point ---- */

static volatile int vector_faults;

static int count_and_unprotect(void *addr, int is_write, void *arg)
{
    (void)is_write;
    vector_faults++;
    char *page = (char *)((uintptr_t)addr & ~(uintptr_t)4095);
    return page >= (char *)arg && page < (char *)arg + 4 * PAGE_BYTES &&
           gcvm_protect(page, 4096, PROT_READ | PROT_WRITE) == 0;
}

static void test_stdio(void)
{
    char path[] = "/tmp/gcvm-stdio-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char *pages =
        mmap(NULL, 4 * PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(pages != MAP_FAILED);
    static char formatted[64];
    uint64_t dirty[1] = {0};
    CHECK(gcvm_enter() == 0);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fprintf(f, "%s %d %.3f\n", "guest", 42, 2.5 * 1.5) > 0);
    CHECK(fclose(f) == 0);
    snprintf(formatted, sizeof formatted, "%lu", (unsigned long)strlen(path));
    /* memset and memcpy store with vector instructions: the page tables see them. */
    memset(pages, 0, 4 * PAGE_BYTES);
    CHECK(gcvm_dirty_harvest(pages, 4 * PAGE_BYTES, dirty, GCVM_CLEAR) == 4);
    memcpy(pages + 2 * PAGE_BYTES + 64, path, sizeof path);
    CHECK(gcvm_dirty_harvest(pages, 4 * PAGE_BYTES, dirty, GCVM_CLEAR) == 1 && dirty[0] == 4);
    /* ... and a protected page faults in guest mode before the vector store lands. */
    gcvm_set_fault_handler(count_and_unprotect, pages);
    CHECK(gcvm_protect(pages, 4 * PAGE_BYTES, PROT_READ) == 0);
    vector_faults = 0;
    memset(pages + PAGE_BYTES, 7, PAGE_BYTES);
    CHECK(vector_faults == 1 && pages[PAGE_BYTES + 100] == 7 && pages[0] == 0);
    gcvm_set_fault_handler(NULL, NULL);
    CHECK(gcvm_exit() == 0);
    f = fopen(path, "r");
    char line[64] = {0};
    CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "guest 42 3.750\n") == 0);
    fclose(f);
    unlink(path);
    CHECK(strcmp(formatted, "22") == 0);
    munmap(pages, 4 * PAGE_BYTES);
}

/* ---- Memory ---- */

static void test_memory(void)
{
    const size_t big = (size_t)64 << 20;
    CHECK(gcvm_enter() == 0);
    char *m = malloc(big); /* mmap'd by glibc: a new host mapping in guest mode */
    CHECK(m != NULL);
    for (size_t off = 0; off < big; off += big / 128)
        m[off] = (char)(off >> 20);
    for (size_t off = 0; off < big; off += big / 128)
        CHECK(m[off] == (char)(off >> 20));
    free(m);
    /* A fresh region, unmapped, and mapped again at (likely) the same address. */
    for (int round = 0; round < 3; round++) {
        char *r = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(r != MAP_FAILED);
        CHECK(r[4096] == 0); /* fresh memory, not the last round's */
        r[4096] = (char)(round + 1);
        CHECK(r[4096] == round + 1);
        CHECK(munmap(r, 1 << 20) == 0);
    }
    /* System V shared memory: shmdt does not say which range it unmapped. */
    int id = shmget(IPC_PRIVATE, 1 << 16, IPC_CREAT | 0600);
    CHECK(id >= 0);
    char *shm = shmat(id, NULL, 0);
    CHECK(shm != (void *)-1);
    shm[100] = 7;
    CHECK(shm[100] == 7);
    CHECK(shmdt(shm) == 0);
    CHECK(shmctl(id, IPC_RMID, NULL) == 0);
    char *grown = sbrk(1 << 16); /* brk grows and shrinks: neither says what it maps */
    CHECK(grown != (void *)-1);
    grown[10] = 1;
    CHECK(sbrk(-(1 << 16)) != (void *)-1);
    CHECK(gcvm_exit() == 0);
}

/* ---- Dirty and accessed bits ---- */

enum { HARVEST_PAGES = 64 };

static void test_harvest(void)
{
    char *region = mmap(NULL, HARVEST_PAGES * PAGE_BYTES, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(region != MAP_FAILED);
    uint64_t bits[1], accessed[1];
    CHECK(gcvm_dirty_harvest(region, HARVEST_PAGES * PAGE_BYTES, bits, GCVM_CLEAR) == -EPERM);
    CHECK(gcvm_enter() == 0);
    CHECK(gcvm_dirty_harvest(region + 1, 4096, bits, 0) == -EINVAL);
    for (int i = 0; i < HARVEST_PAGES; i++)
        region[i * PAGE_BYTES] = 1; /* every page mapped in the guest */
    CHECK(gcvm_dirty_harvest(region, HARVEST_PAGES * PAGE_BYTES, bits, GCVM_CLEAR) ==
          HARVEST_PAGES);
    CHECK(gcvm_accessed_harvest(region, HARVEST_PAGES * PAGE_BYTES, accessed, GCVM_CLEAR) ==
          HARVEST_PAGES);
    for (int round = 0; round < 3; round++) {
        uint64_t written = rnd(), read_only = rnd() & ~written;
        int expect_dirty = 0, expect_accessed = 0;
        volatile char sink = 0;
        for (int i = 0; i < HARVEST_PAGES; i++) {
            if (written >> i & 1) {
                region[i * PAGE_BYTES + 7] = (char)round;
                expect_dirty++;
            } else if (read_only >> i & 1) {
                sink = (char)(sink + region[i * PAGE_BYTES + 9]);
            }
            expect_accessed += (int)(((written | read_only) >> i) & 1);
        }
        (void)sink;
        CHECK(gcvm_dirty_harvest(region, HARVEST_PAGES * PAGE_BYTES, bits, GCVM_CLEAR) ==
              expect_dirty);
        CHECK(bits[0] == written);
        CHECK(gcvm_accessed_harvest(region, HARVEST_PAGES * PAGE_BYTES, accessed, GCVM_CLEAR) ==
              expect_accessed);
        CHECK(accessed[0] == (written | read_only));
        /* right after a clearing harvest, nothing */
        CHECK(gcvm_dirty_harvest(region, HARVEST_PAGES * PAGE_BYTES, bits, 0) == 0);
        CHECK(bits[0] == 0);
    }
    CHECK(gcvm_exit() == 0);
    munmap(region, HARVEST_PAGES * PAGE_BYTES);
}

/* ---- Protection ---- */

/* Written by the fault handler, which runs in the middle of a store: volatile, as for a
 * signal handler. */
static char *protected_region;
static volatile uint64_t pages_faulted;
static volatile int fault_count;

static int on_fault(void *addr, int is_write, void *arg)
{
    (void)arg;
    uint64_t page = (uint64_t)((char *)addr - protected_region) / 4096;
    if (!is_write || page >= 64)
        return 0;
    pages_faulted |= 1ull << page;
    fault_count++;
    return gcvm_protect(protected_region + page * PAGE_BYTES, 4096, PROT_READ | PROT_WRITE) == 0;
}

static void test_protect(void)
{
    protected_region =
        mmap(NULL, 64 * PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(protected_region != MAP_FAILED);
    gcvm_set_fault_handler(on_fault, NULL);
    CHECK(gcvm_enter() == 0);
    CHECK(gcvm_protect(protected_region, 4096, PROT_EXEC) == -EINVAL);
    for (int round = 0; round < 2; round++) {
        CHECK(gcvm_protect(protected_region, 64 * PAGE_BYTES, PROT_READ) == 0);
        pages_faulted = 0;
        fault_count = 0;
        uint64_t subset = rnd();
        int expect = 0;
        for (int i = 0; i < 64; i++) {
            if (subset >> i & 1) {
                protected_region[i * PAGE_BYTES] = (char)(i + round); /* faults once */
                protected_region[i * PAGE_BYTES + 1] = 1;             /* no second fault */
                expect++;
            } else {
                CHECK(protected_region[i * PAGE_BYTES + 2] == 0); /* reads do not fault */
            }
        }
        CHECK(pages_faulted == subset);
        CHECK(fault_count == expect);
        for (int i = 0; i < 64; i++)
            if (subset >> i & 1)
                CHECK(protected_region[i * PAGE_BYTES] == (char)(i + round));
    }
    CHECK(gcvm_exit() == 0);
    struct gcvm_info info;
    CHECK(gcvm_get_info(&info) == 0);
    CHECK(info.protection_faults >= 2);
    gcvm_set_fault_handler(NULL, NULL);
}

/* ---- Process-level behaviour: each in a child, which opens its own VM ---- */

static int run_child(void (*body)(void), char *out, size_t out_len)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        if (gcvm_init() != 0)
            _exit(99);
        body();
        _exit(98);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < out_len && (k = read(p[0], out + n, out_len - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = 0;
    close(p[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return status;
}

static void exit_from_guest(void)
{
    gcvm_enter();
    exit(42);
}

static volatile int *volatile bad_pointer = (volatile int *)16;

static void null_write_in_guest(void)
{
    gcvm_enter();
    *bad_pointer = 1;
}

/* The vCPU's file, found by its name in /proc/self/fd ("anon_inode:kvm-vcpu:0" on KVM,
 * "anon_inode:gcvm-vcpu" on kmod); -1 if there is none. */
static int find_vcpu_fd(void)
{
    for (int fd = 3; fd < 1024; fd++) {
        char path[64], target[128];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (strncmp(target, "anon_inode:", 11) == 0 && strstr(target, "vcpu"))
            return fd;
    }
    return -1;
}

/* In guest mode, replaces the vCPU's file with /dev/null behind the engine's back: the
 * engine's next call on the vCPU (setting the registers after this very system call)
 * fails, and must end the process with a report naming it, not carry on. */
static __attribute__((noinline)) void vcpu_file_replaced_in_guest(void)
{
    int vcpu_fd = find_vcpu_fd();
    int null_fd = open("/dev/null", O_RDWR);
    if (vcpu_fd < 0 || null_fd < 0)
        _exit(97);
    gcvm_enter();
    dup2(null_fd, vcpu_fd);
    _exit(96); /* not reached: the engine ended the process */
}

/* fork() in guest mode: the child continues in host mode and cannot enter guest mode. */
static void fork_in_guest(void)
{
    gcvm_enter();
    pid_t pid = fork();
    if (pid == 0)
        _exit(gcvm_in_guest() == 0 && gcvm_enter() == -EPERM ? 7 : 1);
    int status = 0;
    pid_t waited = waitpid(pid, &status, 0);
    int still_in_guest = gcvm_in_guest();
    gcvm_exit();
    _exit(pid > 0 && waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7 &&
                  still_in_guest
              ? 0
              : 1);
}

static void test_process(void)
{
    char out[8192];
    int status = run_child(exit_from_guest, out, sizeof out);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);

    status = run_child(null_write_in_guest, out, sizeof out);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(out, "page fault") != NULL);
    CHECK(strstr(out, "address 0x10") != NULL);
    CHECK(strstr(out, "backtrace") != NULL && strstr(out, "null_write_in_guest") != NULL);

    status = run_child(vcpu_file_replaced_in_guest, out, sizeof out);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(out, "KVM_SET_REGS on vCPU 0 failed") != NULL);
    CHECK(strstr(out, "(errno 25)") != NULL); /* ENOTTY: /dev/null has no such ioctl */
    CHECK(strstr(out, "backtrace") != NULL && strstr(out, "vcpu_file_replaced_in_guest") != NULL);

    status = run_child(fork_in_guest, out, sizeof out);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- Threads created from guest mode: in guest mode on a vCPU of their own, or in host
 * mode where the program asks (and always for a clone that shares its creator's TLS) ---- */

static volatile int thread_saw_guest = -1;

static void *thread_body(void *arg)
{
    thread_saw_guest = gcvm_in_guest();
    return (char *)arg + 1;
}

static int clone_body(void *arg)
{
    thread_saw_guest = gcvm_in_guest();
    *(int *)arg += 1;
    return 0;
}

/* Enters guest mode and returns there: the thread exits in guest mode. */
static void *enter_and_end(void *arg)
{
    return gcvm_enter() == 0 && gcvm_in_guest() == 1 ? arg : NULL;
}

static void test_threads(void)
{
    CHECK(gcvm_enter() == 0);
    /* clone(): what every thread library does. */
    enum { STACK = 64 * 1024 };
    char *stack = malloc(STACK);
    CHECK(stack != NULL);
    for (int i = 0; i < 3; i++) {
        static volatile pid_t child_tid;
        int counter = i;
        thread_saw_guest = -1;
        child_tid = 1;
        int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                    CLONE_SYSVSEM | CLONE_CHILD_CLEARTID;
        CHECK(clone(clone_body, stack + STACK, flags, &counter, NULL, NULL, &child_tid) > 0);
        while (child_tid != 0) /* cleared by the kernel when the thread exits */
            syscall(SYS_futex, &child_tid, FUTEX_WAIT, 1, NULL, NULL, 0);
        CHECK(counter == i + 1 && thread_saw_guest == 0 && gcvm_in_guest() == 1);
    }
    free(stack);
    /* Through the thread library: host mode where the program asks, else guest mode. */
    CHECK(gcvm_set_thread_start(7) == -EINVAL);
    for (int i = 0; i < 4; i++) {
        int host = i < 2;
        CHECK(gcvm_set_thread_start(host ? GCVM_THREADS_HOST : GCVM_THREADS_GUEST) == 0);
        pthread_t t;
        thread_saw_guest = -1;
        CHECK(pthread_create(&t, NULL, thread_body, (void *)(uintptr_t)(100 + i)) == 0);
        void *result = NULL;
        CHECK(pthread_join(t, &result) == 0);
        CHECK(result == (void *)(uintptr_t)(101 + i));
        CHECK(thread_saw_guest == !host && gcvm_in_guest() == 1);
    }
    CHECK(gcvm_exit() == 0);

    /* A thread that ends in guest mode gives the vCPU back: another enters after it. */
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        void *result = NULL;
        CHECK(pthread_create(&t, NULL, enter_and_end, (void *)(uintptr_t)(7 + i)) == 0);
        CHECK(pthread_join(t, &result) == 0 && result == (void *)(uintptr_t)(7 + i));
        CHECK(gcvm_enter() == 0 && gcvm_in_guest() == 1);
        CHECK(syscall(SYS_getpid) == getpid());
        CHECK(gcvm_exit() == 0);
    }
}

/* ---- Signals: handlers run in guest mode ---- */

static volatile int handler_in_guest = -1, handler_calls;
static volatile int last_signal;
static sigjmp_buf jump_back;
static volatile int fault_then_signal[2], order_index;

static void on_signal(int sig)
{
    handler_in_guest = gcvm_in_guest();
    last_signal = sig;
    handler_calls++;
    if (order_index < 2)
        fault_then_signal[order_index++] = sig;
}

static void jump_out(int sig)
{
    (void)sig;
    handler_in_guest = gcvm_in_guest();
    siglongjmp(jump_back, 1);
}

static void install(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static int raises_signal_on_fault(void *addr, int is_write, void *arg)
{
    (void)is_write, (void)arg;
    raise(SIGUSR1); /* must wait until this handler is done */
    if (order_index < 2)
        fault_then_signal[order_index++] = -1;
    return gcvm_protect((void *)((uintptr_t)addr & ~(uintptr_t)4095), 4096,
                        PROT_READ | PROT_WRITE) == 0;
}

static void test_signals(void)
{
    install(SIGUSR1, on_signal, 0); /* installed in host mode */
    CHECK(gcvm_enter() == 0);
    /* A signal raised in guest mode runs its handler in guest mode, and returns. */
    CHECK(raise(SIGUSR1) == 0);
    CHECK(handler_calls == 1 && handler_in_guest == 1 && last_signal == SIGUSR1);
    CHECK(gcvm_in_guest() == 1);

    /* A handler installed in guest mode that longjmps out; the mask comes back. */
    install(SIGUSR2, jump_out, 0);
    handler_in_guest = -1;
    if (sigsetjmp(jump_back, 1) == 0) {
        raise(SIGUSR2);
        CHECK(!"the handler should have jumped");
    }
    CHECK(handler_in_guest == 1 && gcvm_in_guest() == 1);
    sigset_t blocked;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &blocked) == 0);
    CHECK(!sigismember(&blocked, SIGUSR2));
    struct sigaction query;
    CHECK(sigaction(SIGUSR2, NULL, &query) == 0 && query.sa_handler == jump_out);

    /* A timer interrupts a blocking read (EINTR: no SA_RESTART) ... It repeats: on a
     * loaded machine the first tick may come before the read blocks. */
    install(SIGALRM, on_signal, 0);
    int p[2];
    CHECK(pipe(p) == 0);
    struct itimerval timer = {.it_value = {.tv_usec = 20000}, .it_interval = {.tv_usec = 20000}};
    handler_calls = 0;
    CHECK(setitimer(ITIMER_REAL, &timer, NULL) == 0);
    char c;
    errno = 0;
    CHECK(read(p[0], &c, 1) == -1 && errno == EINTR);
    CHECK(handler_calls >= 1 && last_signal == SIGALRM && handler_in_guest == 1);
    /* ... and a loop that makes no system call. */
    int calls = handler_calls;
    while (handler_calls == calls)
        ;
    struct itimerval stop = {0};
    CHECK(setitimer(ITIMER_REAL, &stop, NULL) == 0);
    CHECK(last_signal == SIGALRM && handler_in_guest == 1);
    close(p[0]);
    close(p[1]);

    /* A signal raised inside the fault handler waits until the handler is done. */
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    gcvm_set_fault_handler(raises_signal_on_fault, NULL);
    CHECK(gcvm_protect(page, 4096, PROT_READ) == 0);
    order_index = 0;
    ((volatile char *)page)[0] = 1; /* not before the line above */
    CHECK(order_index == 2 && fault_then_signal[0] == -1 && fault_then_signal[1] == SIGUSR1);
    gcvm_set_fault_handler(NULL, NULL);
    CHECK(gcvm_exit() == 0);

    /* Back in host mode the program's handlers are its own again. */
    handler_in_guest = -1;
    CHECK(raise(SIGUSR1) == 0 && handler_in_guest == 0);
    struct gcvm_info info;
    CHECK(gcvm_get_info(&info) == 0 && info.signals_delivered >= 5);
    munmap(page, 4096);
}

/* In info_report.c, compiled with floating point: it runs in host mode only. */
int check_and_print_info(void);

/* ---- Several vCPUs: threads in guest mode at once, over the same page tables ---- */

enum { GUEST_THREADS = 4 };
static volatile int threads_in_guest, threads_checked;
static volatile int concurrent_ok[GUEST_THREADS];

/* Enters guest mode, waits there until every thread is, makes system calls and leaves. */
static void *enter_and_call(void *arg)
{
    int i = (int)(uintptr_t)arg;
    if (gcvm_enter() != 0)
        return NULL;
    __atomic_add_fetch(&threads_in_guest, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&threads_in_guest, __ATOMIC_SEQ_CST) < GUEST_THREADS)
        sched_yield(); /* a forwarded system call */
    int fds[2];
    char byte = (char)i, back = 0;
    int ok = pipe(fds) == 0 && write(fds[1], &byte, 1) == 1 && read(fds[0], &back, 1) == 1 &&
             back == byte && close(fds[0]) == 0 && close(fds[1]) == 0 &&
             syscall(SYS_gettid) == gettid() && gcvm_in_guest() == 1;
    struct gcvm_info info;
    ok = ok && gcvm_get_info(&info) == 0 && info.vcpus_held == GUEST_THREADS;
    __atomic_add_fetch(&threads_checked, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&threads_checked, __ATOMIC_SEQ_CST) < GUEST_THREADS)
        sched_yield(); /* none leaves before all have counted the vCPUs held */
    concurrent_ok[i] = ok && gcvm_exit() == 0 && gcvm_in_guest() == 0;
    return NULL;
}

static void test_vcpus(void)
{
    pthread_t t[GUEST_THREADS];
    for (int i = 0; i < GUEST_THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, enter_and_call, (void *)(uintptr_t)i) == 0);
    for (int i = 0; i < GUEST_THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    for (int i = 0; i < GUEST_THREADS; i++)
        CHECK(concurrent_ok[i] == 1);
    struct gcvm_info info;
    CHECK(gcvm_get_info(&info) == 0);
    CHECK(info.vcpus >= GUEST_THREADS && info.vcpus_held == 0);
}

/* A thread created in guest mode starts there, on a vCPU of its own, while its creator
 * stays in guest mode; it may leave and enter again. */
static volatile int child_in_guest = -1, child_again = -1;
static void *child_of_guest(void *arg)
{
    child_in_guest = gcvm_in_guest();
    pid_t tid = (pid_t)syscall(SYS_gettid);
    struct gcvm_info info;
    int held = gcvm_get_info(&info) == 0 ? (int)info.vcpus_held : -1;
    child_again = gcvm_exit() == 0 && gcvm_in_guest() == 0 && gcvm_enter() == 0 &&
                  gcvm_in_guest() == 1 && tid == gettid() && held == 2;
    return arg;
}

static void test_thread_from_guest(void)
{
    CHECK(gcvm_set_thread_start(GCVM_THREADS_GUEST) == 0);
    CHECK(gcvm_enter() == 0);
    pthread_t t;
    static int token;
    CHECK(pthread_create(&t, NULL, child_of_guest, &token) == 0);
    void *result = NULL;
    CHECK(pthread_join(t, &result) == 0);
    CHECK(result == &token && child_in_guest == 1 && child_again == 1);
    CHECK(gcvm_in_guest() == 1 && gcvm_exit() == 0);
}

/* Many short-lived threads, one after the other: each gives its vCPU back, so the VM
 * does not grow. Half leave guest mode, half end in it; some start there. */
static void *short_lived(void *arg)
{
    int i = (int)(uintptr_t)arg;
    if (i % 3 != 2 && gcvm_enter() != 0) /* i % 3 == 2: created in guest mode */
        return NULL;
    if (gcvm_in_guest() != 1 || syscall(SYS_getpid) != getpid())
        return NULL;
    if (i % 2 == 0 && gcvm_exit() != 0)
        return NULL;
    return arg;
}

static void test_vcpu_reuse(void)
{
    struct gcvm_info before, after;
    CHECK(gcvm_get_info(&before) == 0);
    enum { THREADS = 50 };
    for (int i = 0; i < THREADS; i++) {
        int from_guest = i % 3 == 2;
        if (from_guest)
            CHECK(gcvm_enter() == 0);
        pthread_t t;
        void *result = NULL;
        CHECK(pthread_create(&t, NULL, short_lived, (void *)(uintptr_t)i) == 0);
        CHECK(pthread_join(t, &result) == 0 && result == (void *)(uintptr_t)i);
        if (from_guest)
            CHECK(gcvm_exit() == 0);
    }
    CHECK(gcvm_get_info(&after) == 0);
    /* at most two in guest mode at once: this thread and one short-lived one */
    CHECK(after.vcpus <= 2 && after.vcpus_held == 0);
    CHECK(after.entries >= before.entries + THREADS);
}

/* gcvm_guest_stay() names one thread's stay in guest mode: other threads entering and
 * leaving (which move the process's entry count) leave it alone; the thread's own exit
 * ends it, and its next entry gets a new one. */
static volatile uint64_t started_stay, entered_stay, host_stay = 1;
static void *report_stay(void *arg)
{
    started_stay = gcvm_guest_stay(); /* 0 when created in host mode */
    if (!gcvm_in_guest()) {
        host_stay = gcvm_guest_stay();
        if (gcvm_enter() != 0)
            return NULL;
    }
    entered_stay = gcvm_guest_stay();
    return gcvm_exit() == 0 && gcvm_guest_stay() == 0 ? arg : NULL;
}

static uint64_t stay_of_thread(int where)
{
    static int token;
    pthread_t t;
    void *result = NULL;
    CHECK(gcvm_set_thread_start(where) == 0);
    CHECK(pthread_create(&t, NULL, report_stay, &token) == 0);
    CHECK(pthread_join(t, &result) == 0 && result == &token);
    CHECK(gcvm_set_thread_start(GCVM_THREADS_GUEST) == 0);
    return entered_stay;
}

static void test_guest_stay(void)
{
    CHECK(gcvm_guest_stay() == 0);
    CHECK(gcvm_enter() == 0);
    uint64_t first = gcvm_guest_stay();
    struct gcvm_info before, after;
    CHECK(first != 0 && gcvm_get_info(&before) == 0);
    uint64_t from_host = stay_of_thread(GCVM_THREADS_HOST);
    CHECK(host_stay == 0 && from_host != 0 && from_host != first);
    uint64_t from_guest = stay_of_thread(GCVM_THREADS_GUEST);
    CHECK(started_stay == from_guest && from_guest != 0 && from_guest != first &&
          from_guest != from_host);
    CHECK(gcvm_get_info(&after) == 0 && after.entries >= before.entries + 2);
    CHECK(gcvm_guest_stay() == first); /* the others' entries are not this thread's */
    CHECK(gcvm_exit() == 0 && gcvm_guest_stay() == 0);
    CHECK(gcvm_enter() == 0);
    uint64_t second = gcvm_guest_stay();
    CHECK(second != 0 && second != first && second != from_host && second != from_guest);
    CHECK(gcvm_exit() == 0);
}

/* A signal sent to one thread in guest mode runs its handler on that thread, in guest
 * mode, while another thread is in guest mode too. */
static volatile pid_t handled_on = -1;
static volatile int handled_in_guest = -1;
static volatile int target_ready, target_stop;
static volatile pid_t target_tid;

static void on_targeted(int sig)
{
    (void)sig;
    handled_on = (pid_t)syscall(SYS_gettid);
    handled_in_guest = gcvm_in_guest();
}

static void *signal_target(void *arg)
{
    if (gcvm_enter() != 0)
        return NULL;
    target_tid = (pid_t)syscall(SYS_gettid);
    target_ready = 1;
    while (!target_stop)
        ; /* in guest ring 0, no exit of its own: the signal must interrupt KVM_RUN */
    return gcvm_exit() == 0 ? arg : NULL;
}

static void test_vcpu_signals(void)
{
    install(SIGUSR2, on_targeted, 0);
    pthread_t t;
    static int token;
    CHECK(pthread_create(&t, NULL, signal_target, &token) == 0);
    CHECK(gcvm_enter() == 0);
    while (!target_ready)
        sched_yield();
    CHECK(pthread_kill(t, SIGUSR2) == 0);
    while (handled_on == -1)
        sched_yield();
    target_stop = 1;
    CHECK(gcvm_exit() == 0);
    void *result = NULL;
    CHECK(pthread_join(t, &result) == 0 && result == &token);
    CHECK(handled_on == target_tid && handled_in_guest == 1);
}

/* Threads created in guest mode allocate at once: each gets a malloc arena of its own,
 * which grows by mprotect while the arena's lock is held, and the first touch of the new
 * page faults. The engine serves that fault on the same thread, so it must not call
 * malloc itself (it would wait for the lock the guest holds). The alarm ends a hang. */
static void *allocate_in_guest(void *arg)
{
    long sum = 0;
    for (int i = 0; i < 60; i++) {
        char *p = malloc(100000 + (size_t)i * 1000);
        if (!p)
            return NULL;
        memset(p, i, 1000);
        sum += p[10];
        free(p);
    }
    return sum == (long)(59 * 60 / 2) && gcvm_in_guest() == 1 ? arg : NULL;
}

static void test_threads_malloc(void)
{
    alarm(60);
    CHECK(gcvm_set_thread_start(GCVM_THREADS_GUEST) == 0);
    CHECK(gcvm_enter() == 0);
    enum { THREADS = 8 };
    pthread_t t[THREADS];
    static int token;
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, allocate_in_guest, &token) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *result = NULL;
        CHECK(pthread_join(t[i], &result) == 0 && result == &token);
    }
    CHECK(gcvm_exit() == 0);
    alarm(0);
    struct gcvm_info info;
    CHECK(gcvm_get_info(&info) == 0);
    printf("threads-malloc: %llu vCPUs, %llu shootdowns, %llu undelivered exceptions dropped\n",
           (unsigned long long)info.vcpus, (unsigned long long)info.shootdowns,
           (unsigned long long)info.exceptions_dropped);
}

/* ---- TLB coherence: one thread writes a page in guest mode without pause while another
 * clears its dirty bit, or protects it, in a loop. Once the call returns, no write may go
 * through an old translation of the writer's vCPU. ---- */

static volatile uint64_t *shared_page;
static volatile int writer_ready, writer_stop;

static void *page_writer(void *arg)
{
    if (gcvm_enter() != 0)
        return NULL;
    /* Every signal blocked, as a program may: the engine's kick must still get through. */
    sigset_t all;
    sigfillset(&all);
    if (pthread_sigmask(SIG_BLOCK, &all, NULL) != 0)
        return NULL;
    uint64_t n = 0;
    shared_page[0] = ++n; /* mapped, and in this vCPU's TLB */
    writer_ready = 1;
    while (!writer_stop)
        shared_page[0] = ++n;
    return gcvm_exit() == 0 ? arg : NULL;
}

static void start_writer(pthread_t *t)
{
    shared_page =
        mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(shared_page != MAP_FAILED);
    writer_ready = writer_stop = 0;
    alarm(60); /* a writer that cannot be kicked would hang the shootdown */
    static int token;
    CHECK(pthread_create(t, NULL, page_writer, &token) == 0);
    while (!writer_ready)
        sched_yield();
}

static void stop_writer(pthread_t t)
{
    writer_stop = 1;
    void *result = NULL;
    CHECK(pthread_join(t, &result) == 0 && result != NULL);
    munmap((void *)shared_page, PAGE_BYTES);
    alarm(0);
}

/* Waits (in guest mode, yielding) until the writer has written something other than
 * seen; false after 10 s. */
static bool writer_moved_from(uint64_t seen)
{
    for (int i = 0; i < 100000 && shared_page[0] == seen; i++)
        sched_yield();
    return shared_page[0] != seen;
}

enum { COHERENCE_ROUNDS = 40 };

/* Every round, the page is written after the last harvest returned and before the next
 * begins: the next must report it dirty. Without the shootdown, the writer's vCPU keeps
 * a TLB entry whose dirty bit is set and writes on without setting the entry's again. */
static void test_tlb_dirty(void)
{
    pthread_t t;
    start_writer(&t);
    CHECK(gcvm_enter() == 0);
    /* The engine reads a mask to filter it through the kernel: a bad one is EFAULT. */
    CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)16, NULL, 8) == -1 && errno == EFAULT);
    uint64_t bitmap = 0, after = shared_page[0];
    int missed = 0;
    for (int round = 0; round < COHERENCE_ROUNDS; round++) {
        CHECK(writer_moved_from(after));
        int dirty = gcvm_dirty_harvest((void *)shared_page, PAGE_BYTES, &bitmap, GCVM_CLEAR);
        missed += dirty != 1;
        after = shared_page[0];
    }
    CHECK(gcvm_exit() == 0);
    stop_writer(t);
    struct gcvm_info info;
    CHECK(gcvm_get_info(&info) == 0);
    if (missed)
        fprintf(stderr, "%d of %d rounds with writes reported the page clean\n", missed,
                COHERENCE_ROUNDS);
    CHECK(missed == 0);
    CHECK(info.shootdowns >= COHERENCE_ROUNDS);
}

/* The writer's fault handler: waits in the fault until the page is writable again. */
static volatile int page_protected;
static volatile uint64_t writer_faults;
static int wait_for_unprotect(void *addr, int is_write, void *arg)
{
    (void)arg;
    if ((uint64_t)addr / PAGE_BYTES != (uint64_t)shared_page / PAGE_BYTES || !is_write)
        return 0;
    writer_faults++;
    while (page_protected)
        ;
    return 1; /* retried; faults again until the page is writable */
}

/* Every round the writer is writing when the page is protected; once gcvm_protect
 * returns, the page must not change until it is unprotected. Without the shootdown, the
 * writer's vCPU writes on through its TLB's writable entry. */
static void test_tlb_protect(void)
{
    pthread_t t;
    gcvm_set_fault_handler(wait_for_unprotect, NULL);
    start_writer(&t);
    CHECK(gcvm_enter() == 0);
    int leaked = 0;
    uint64_t seen = shared_page[0];
    for (int round = 0; round < COHERENCE_ROUNDS / 2; round++) {
        CHECK(writer_moved_from(seen)); /* writing, through a writable TLB entry */
        page_protected = 1;
        CHECK(gcvm_protect((void *)shared_page, PAGE_BYTES, PROT_READ) == 0);
        uint64_t at_protect = shared_page[0];
        for (int i = 0; i < 3; i++)
            sched_yield(); /* the writer runs meanwhile, and must fault */
        leaked += shared_page[0] != at_protect;
        page_protected = 0;
        CHECK(gcvm_protect((void *)shared_page, PAGE_BYTES, PROT_READ | PROT_WRITE) == 0);
        seen = shared_page[0];
    }
    CHECK(gcvm_exit() == 0);
    stop_writer(t);
    gcvm_set_fault_handler(NULL, NULL);
    if (leaked)
        fprintf(stderr, "%d rounds saw a write after gcvm_protect returned\n", leaked);
    CHECK(leaked == 0 && writer_faults > 0);
}

static void test_info(void)
{
    CHECK(check_and_print_info() == 0);
}

static const struct {
    const char *name;
    void (*run)(void);
} tests[] = {
    {"enter-exit", test_enter_exit},
    {"files-pipes-errno", test_files_and_pipes},
    {"memory", test_memory},
    {"stdio", test_stdio},
    {"harvest", test_harvest},
    {"protect", test_protect},
    {"process", test_process},
    {"threads", test_threads},
    {"signals", test_signals},
    {"info", test_info},
    {"vcpus", test_vcpus},
    {"thread-from-guest", test_thread_from_guest},
    {"vcpu-reuse", test_vcpu_reuse},
    {"guest-stay", test_guest_stay},
    {"vcpu-signals", test_vcpu_signals},
    {"tlb-dirty", test_tlb_dirty},
    {"tlb-protect", test_tlb_protect},
    {"threads-malloc", test_threads_malloc},
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "process") != 0) { /* that one opens a VM per child */
        int rc = gcvm_init();
        if (rc == -ENODEV || rc == -EACCES) {
            printf("SKIP: %s\n", gcvm_last_error());
            return 77;
        }
        CHECK(rc == 0);
    } else if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("SKIP: /dev/kvm is not usable here\n");
        return 77;
    }
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (strcmp(argv[1], tests[i].name) == 0) {
            tests[i].run();
            puts("PASS");
            return 0;
        }
    }
    fprintf(stderr, "unknown test %s\n", argv[1]);
    return 2;
}
