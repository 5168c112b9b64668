/* System calls in guest mode that the kernel module makes in the kernel (docs/kmod.md,
 * "System calls"): each must give what it gives in host mode, on either backend, and on
 * kmod none of them may return to the engine.
 *
 * usage: test_kernel_syscalls identity     getpid, gettid, getppid, getuid, sched_yield
 *        test_kernel_syscalls files        read, write, pread64, pwrite64, readv, writev,
 *                                          lseek, fsync, fdatasync, close, anonymous
 *                                          mmap, with their errors
 *        test_kernel_syscalls close-eof    a close in guest mode reaches the pipe's
 *                                          reader before the next call blocks
 *        test_kernel_syscalls interrupted  a signal during a blocking read: the handler
 *                                          runs, then the read restarts (SA_RESTART) or
 *                                          fails with EINTR
 *        test_kernel_syscalls seccomp      under a seccomp filter every call goes to the
 *                                          engine, where the filter applies
 *        test_kernel_syscalls engine-kept  the calls the engine keeps for itself
 *                                          (gcvm/src/guest_abi.h) return to it on every
 *                                          backend, with host mode's results
 *
 * It runs on the host (kvm backend) and inside the emulated VT-x machine on both
 * backends (tests/vm/tests.list). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <asm/prctl.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_errno.h"
#include "gcvm/gcvm.h"

/* In guest mode a failed CHECK would print from ring 0; results are collected in this
 * instead and checked after gcvm_exit(). */
static int first_wrong_line;
#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond) && !first_wrong_line)                                                          \
            first_wrong_line = __LINE__;                                                           \
    } while (0)

static void init_engine(void)
{
    if (gcvm_init() != 0) {
        printf("SKIP: %s\n", gcvm_last_error());
        exit(77);
    }
    alarm(120); /* a call that never returns ends the test (SIGALRM) instead of hanging it */
}

static uint64_t engine_syscalls(void)
{
    struct gcvm_info info;
    CHECK(gcvm_get_info(&info) == 0);
    return info.syscall_exits;
}

/* Stops the test if an EXPECT failed in guest mode. */
static void stop_if_wrong_in_guest(void)
{
    if (first_wrong_line) {
        fprintf(stderr, "%s:%d: check failed in guest mode\n", __FILE__, first_wrong_line);
        exit(1);
    }
}

/* After a guest-mode section of @calls calls that kmod makes in the kernel: no wrong
 * result, and the number that returned to the engine is 0 on kmod and all of them on
 * the kvm backend. */
static void check_section(const char *what, uint64_t engine_before, int calls)
{
    struct gcvm_info info;
    CHECK(gcvm_get_info(&info) == 0);
    uint64_t forwarded = info.syscall_exits - engine_before;
    printf("%s: %s: %d calls in guest mode, %llu returned to the engine\n", info.backend, what,
           calls, (unsigned long long)forwarded);
    stop_if_wrong_in_guest();
    if (strcmp(info.backend, "kmod") == 0)
        CHECK(forwarded == 0);
    else
        CHECK(forwarded >= (uint64_t)calls);
}

/* ---- identity ---- */

static void test_identity(void)
{
    init_engine();
    long pid = syscall(SYS_getpid), tid = syscall(SYS_gettid), ppid = syscall(SYS_getppid);
    long uid = syscall(SYS_getuid), gid = syscall(SYS_getgid);
    enum { ROUNDS = 300 };
    uint64_t before = engine_syscalls();
    CHECK(gcvm_enter() == 0);
    for (int i = 0; i < ROUNDS; i++) {
        EXPECT(syscall(SYS_getpid) == pid && syscall(SYS_gettid) == tid);
        EXPECT(syscall(SYS_getppid) == ppid && syscall(SYS_getuid) == uid);
        EXPECT(syscall(SYS_getgid) == gid && syscall(SYS_sched_yield) == 0);
    }
    gcvm_exit();
    check_section("identity", before, 6 * ROUNDS);
    puts("PASS");
}

/* ---- files ---- */

#define BLOCK 512L /* bytes */
#define BLOCKS 64L
#define PAGE 4096L

static void fill_block(char *b, long n)
{
    for (long i = 0; i < BLOCK; i++)
        b[i] = (char)(n * 31 + i);
}

static void test_files(void)
{
    init_engine();
    char path[] = "/tmp/gcvm-kernel-syscalls.XXXXXX";
    int fd = mkstemp(path), pipe_fds[2], read_only = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0 && read_only >= 0 && pipe(pipe_fds) == 0);
    unlink(path);
    int spare = dup(fd);
    CHECK(spare >= 0);
    static char block[BLOCK], back[BLOCK], v1[100], v2[200], v3[300], r1[100], r2[200], r3[300];
    memset(v1, 'a', sizeof v1), memset(v2, 'b', sizeof v2), memset(v3, 'c', sizeof v3);
    const off_t size = (off_t)BLOCK * BLOCKS;
    int calls = 0;
    char *anon = NULL;

    uint64_t before = engine_syscalls();
    CHECK(gcvm_enter() == 0);
    for (long n = 0; n < BLOCKS; n++, calls++) {
        fill_block(block, n);
        EXPECT(write(fd, block, BLOCK) == BLOCK);
    }
    EXPECT(lseek(fd, 0, SEEK_CUR) == size && lseek(fd, 0, SEEK_END) == size);
    EXPECT(lseek(fd, 5 * BLOCK, SEEK_SET) == 5 * BLOCK);
    fill_block(block, 5);
    EXPECT(read(fd, back, BLOCK) == BLOCK && memcmp(back, block, BLOCK) == 0);
    EXPECT(lseek(fd, 0, SEEK_CUR) == 6 * BLOCK); /* read moved the position */
    fill_block(block, 37);
    EXPECT(pread(fd, back, BLOCK, 37 * BLOCK) == BLOCK && memcmp(back, block, BLOCK) == 0);
    EXPECT(pwrite(fd, "kernel", 6, 2 * BLOCK + 7) == 6);
    EXPECT(pread(fd, back, 6, 2 * BLOCK + 7) == 6 && memcmp(back, "kernel", 6) == 0);
    EXPECT(lseek(fd, 0, SEEK_CUR) == 6 * BLOCK); /* pread and pwrite did not */
    EXPECT(pread(fd, back, BLOCK, size) == 0);   /* end of file */
    calls += 10;

    struct iovec out[3] = {{v1, sizeof v1}, {v2, sizeof v2}, {v3, sizeof v3}};
    struct iovec in[3] = {{r1, sizeof r1}, {r2, sizeof r2}, {r3, sizeof r3}};
    EXPECT(lseek(fd, 0, SEEK_END) == size && writev(fd, out, 3) == 600);
    EXPECT(lseek(fd, size, SEEK_SET) == size && readv(fd, in, 3) == 600);
    EXPECT(memcmp(r1, v1, 100) == 0 && memcmp(r2, v2, 200) == 0 && memcmp(r3, v3, 300) == 0);
    EXPECT(fsync(fd) == 0 && fdatasync(fd) == 0);
    calls += 6;

    EXPECT(write(pipe_fds[1], "through a pipe", 14) == 14);
    EXPECT(read(pipe_fds[0], back, sizeof back) == 14 && memcmp(back, "through a pipe", 14) == 0);
    calls += 2;

    /* Errors, with the errno host mode gives. */
    errno = 0;
    EXPECT(read(-1, back, 1) == -1 && errno == EBADF);
    EXPECT(write(read_only, "x", 1) == -1 && errno == EBADF);
    EXPECT(lseek(fd, 0, 99) == -1 && errno == EINVAL);
    EXPECT(pread(pipe_fds[0], back, 1, 0) == -1 && errno == ESPIPE);
    EXPECT(pread(fd, back, 1, -1) == -1 && errno == EINVAL);
    EXPECT(syscall(SYS_pread64, fd, 8, 16, 0) == -1 && errno == EFAULT); /* a bad buffer */
    EXPECT(syscall(SYS_readv, fd, in, -1) == -1 && errno == EINVAL);
    EXPECT(fsync(-1) == -1 && errno == EBADF);
    calls += 8;

    /* New anonymous memory, zeroed and usable at once. */
    anon = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT(anon != MAP_FAILED);
    if (anon != MAP_FAILED)
        for (long i = 0; i < 64; i++) {
            EXPECT(anon[i * PAGE] == 0);
            anon[i * PAGE + 1] = (char)i;
        }
    /* (the C library would refuse this offset without making the call) */
    EXPECT(syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1) == -1 &&
           errno == EINVAL);
    calls += 2;

    EXPECT(close(spare) == 0);
    EXPECT(close(spare) == -1 && errno == EBADF);
    calls += 2;
    gcvm_exit();
    check_section("files", before, calls);

    /* What guest mode wrote is in the file, as host mode sees it. */
    CHECK(pread(fd, back, 6, 2 * BLOCK + 7) == 6 && memcmp(back, "kernel", 6) == 0);
    CHECK(lseek(fd, 0, SEEK_END) == size + 600);
    fill_block(block, BLOCKS - 1);
    CHECK(pread(fd, back, BLOCK, size - BLOCK) == BLOCK && memcmp(back, block, BLOCK) == 0);
    CHECK(anon != MAP_FAILED && anon[63 * PAGE + 1] == 63 && munmap(anon, 64 * PAGE) == 0);
    CHECK(fcntl(spare, F_GETFD) == -1 && errno == EBADF);
    puts("PASS");
}

/* ---- close-eof ---- */

/* The child reads its pipe to the end, then answers on the other. A close in guest mode
 * must have ended the pipe by the time the parent's next call blocks waiting for it. */
static void test_close_eof(void)
{
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(to_child[1]), close(to_parent[0]);
        char c;
        long total = 0, n;
        while ((n = read(to_child[0], &c, 1)) > 0)
            total += n;
        _exit(write(to_parent[1], total == 4 ? "E" : "?", 1) == 1 ? 0 : 1);
    }
    close(to_child[0]), close(to_parent[1]);
    init_engine();
    char answer = 0;
    uint64_t before = engine_syscalls();
    CHECK(gcvm_enter() == 0);
    EXPECT(write(to_child[1], "data", 4) == 4);
    EXPECT(close(to_child[1]) == 0);
    EXPECT(read(to_parent[0], &answer, 1) == 1);
    gcvm_exit();
    CHECK(answer == 'E');
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check_section("close-eof", before, 3);
    puts("PASS");
}

/* ---- interrupted ---- */

static volatile int handled;
static void on_usr1(int sig)
{
    (void)sig;
    handled++;
}

/* Whether @pid's main thread is asleep (state S in /proc/PID/stat). */
static bool sleeping(pid_t pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    const char *end = strrchr(text, ')');
    return end && end[1] == ' ' && end[2] == 'S';
}

/* Waits until @pid has been asleep for five checks in a row, 10 ms apart. */
static void wait_until_blocked(pid_t pid)
{
    struct timespec tick = {0, 10000000};
    for (int streak = 0; streak < 5;) {
        nanosleep(&tick, NULL);
        streak = sleeping(pid) ? streak + 1 : 0;
    }
}

/* A child sends SIGUSR1 while the parent is blocked in a read in guest mode, then writes
 * once the parent is blocked again. */
static void interrupted_read(bool restart)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct sigaction act = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
    sigemptyset(&act.sa_mask);
    CHECK(sigaction(SIGUSR1, &act, NULL) == 0);
    handled = 0;
    pid_t parent = getpid(), child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        wait_until_blocked(parent);
        kill(parent, SIGUSR1);
        wait_until_blocked(parent);
        _exit(write(fds[1], "x", 1) == 1 ? 0 : 1);
    }
    char c = 0;
    long first, second = 0;
    int first_errno;
    CHECK(gcvm_enter() == 0);
    first = read(fds[0], &c, 1);
    first_errno = errno;
    if (first < 0)
        second = read(fds[0], &c, 1);
    gcvm_exit();
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("SA_RESTART %s: read gave %ld (errno %d), then %ld; handler ran %d times\n",
           restart ? "set" : "clear", first, first < 0 ? first_errno : 0, second, handled);
    CHECK(handled == 1 && c == 'x');
    if (restart)
        CHECK(first == 1);
    else
        CHECK(first == -1 && first_errno == EINTR && second == 1);
    close(fds[0]), close(fds[1]);
}

static void test_interrupted(void)
{
    init_engine();
    interrupted_read(true);
    interrupted_read(false);
    puts("PASS");
}

/* ---- seccomp ---- */

/* A filter that refuses getppid with EPERM and allows everything else. */
static void refuse_getppid(void)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {sizeof filter / sizeof filter[0], filter};
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0);
}

static void test_seccomp(void)
{
    init_engine();
    refuse_getppid();
    CHECK(syscall(SYS_getppid) == -1 && errno == EPERM);
    long pid = getpid();
    enum { ROUNDS = 100 };
    uint64_t before = engine_syscalls();
    CHECK(gcvm_enter() == 0);
    for (int i = 0; i < ROUNDS; i++) {
        errno = 0;
        EXPECT(syscall(SYS_getppid) == -1 && errno == EPERM);
        EXPECT(syscall(SYS_getpid) == pid);
    }
    gcvm_exit();
    uint64_t forwarded = engine_syscalls() - before;
    printf("%d calls in guest mode under a seccomp filter, %llu returned to the engine\n",
           2 * ROUNDS, (unsigned long long)forwarded);
    stop_if_wrong_in_guest();
    CHECK(forwarded >= (uint64_t)2 * ROUNDS); /* on either backend */
    puts("PASS");
}

/* ---- engine-kept ---- */

static void test_engine_kept(void)
{
    init_engine();
    long brk_now = syscall(SYS_brk, 0);
    struct sigaction usr2;
    CHECK(sigaction(SIGUSR2, NULL, &usr2) == 0);
    uint64_t fs = 0;
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0);
    enum { ROUNDS = 50, KEPT = 6 }; /* the calls of a round that the engine keeps */
    uint64_t before = engine_syscalls();
    CHECK(gcvm_enter() == 0);
    for (int i = 0; i < ROUNDS; i++) {
        /* new anonymous memory: kmod may make this one in the kernel */
        char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT(p != MAP_FAILED);
        p[0] = 1;
        EXPECT(syscall(SYS_mprotect, p, PAGE, PROT_READ) == 0 && p[0] == 1);
        EXPECT(mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                    0) == p);
        p[0] = 2; /* the new page is writable and private to this mapping */
        EXPECT(p[0] == 2 && syscall(SYS_munmap, p, 2 * PAGE) == 0);
        EXPECT(syscall(SYS_brk, 0) == brk_now);
        struct sigaction now;
        EXPECT(sigaction(SIGUSR2, NULL, &now) == 0 && now.sa_handler == usr2.sa_handler);
        uint64_t guest_fs = 0;
        EXPECT(syscall(SYS_arch_prctl, ARCH_GET_FS, &guest_fs) == 0 && guest_fs == fs);
    }
    gcvm_exit();
    struct gcvm_info info;
    CHECK(gcvm_get_info(&info) == 0);
    uint64_t forwarded = info.syscall_exits - before;
    printf("%s: %d calls the engine keeps in guest mode, %llu returned to the engine\n",
           info.backend, KEPT * ROUNDS, (unsigned long long)forwarded);
    stop_if_wrong_in_guest();
    if (strcmp(info.backend, "kmod") == 0)
        CHECK(forwarded == (uint64_t)KEPT * ROUNDS); /* the kept ones, and only those */
    else
        CHECK(forwarded >= (uint64_t)KEPT * ROUNDS);
    puts("PASS");
}

int main(int argc, char **argv)
{
    const char *what = argc == 2 ? argv[1] : "";
    if (strcmp(what, "identity") == 0)
        test_identity();
    else if (strcmp(what, "files") == 0)
        test_files();
    else if (strcmp(what, "close-eof") == 0)
        test_close_eof();
    else if (strcmp(what, "interrupted") == 0)
        test_interrupted();
    else if (strcmp(what, "seccomp") == 0)
        test_seccomp();
    else if (strcmp(what, "engine-kept") == 0)
        test_engine_kept();
    else {
        fprintf(
            stderr,
            "usage: test_kernel_syscalls identity | files | close-eof | interrupted | seccomp | "
            "engine-kept\n");
        return 2;
    }
    return 0;
}
