/* The auto barrier's cache file: a second query reads what the first measured; a changed
 * key, GCVM_CALIBRATE or a request measures again; a corrupt or unreadable file is
 * ignored with one warning line and replaced; an unwritable cache directory warns and
 * still chooses; concurrent writers never leave a partial file; a heap with barrier auto
 * uses the cache. Every case works in a fresh temporary XDG_CACHE_HOME, never ~/.cache.
 *
 * usage: test_barrier_auto_cache CASE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gcvm/gc-barrier-auto.h"
#include "test_util.h"

static char cache_home[256], cache_file[320];

static void make_cache_home(void)
{
    snprintf(cache_home, sizeof cache_home, "/tmp/gcvm-auto-cache.XXXXXX");
    CHECK(mkdtemp(cache_home) != NULL);
    CHECK(setenv("XDG_CACHE_HOME", cache_home, 1) == 0);
    unsetenv(GC_BARRIER_AUTO_CALIBRATE_ENV);
    snprintf(cache_file, sizeof cache_file, "%s/gcvm/barrier-auto", cache_home);
}

static void remove_cache_home(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_home);
    CHECK(system(cmd) == 0);
}

static char *read_text(const char *path)
{
    static char text[8192];
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot read %s", path);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    return text;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    fputs(text, f);
    CHECK(fclose(f) == 0);
}

/* A query with stderr captured; returns the warning lines it printed (count in *lines). */
static const char *query_capturing(int recalibrate, struct gc_barrier_auto_choice *c, int *lines)
{
    static char warnings[4096];
    char path[300];
    snprintf(path, sizeof path, "%s/stderr.%d", cache_home, (int)getpid());
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
    close(fd);
    gc_barrier_auto_query(recalibrate, c);
    fflush(stderr);
    CHECK(dup2(saved, 2) == 2);
    close(saved);
    snprintf(warnings, sizeof warnings, "%s", read_text(path));
    *lines = 0;
    for (const char *p = warnings; (p = strchr(p, '\n')); p++)
        (*lines)++;
    unlink(path);
    return warnings;
}

static void query_quietly(int recalibrate, struct gc_barrier_auto_choice *c)
{
    int lines;
    const char *warnings = query_capturing(recalibrate, c, &lines);
    CHECK_MSG(lines == 0, "unexpected warning: %s", warnings);
    CHECK(gc_barrier_available(c->kind, NULL, 0));
}

/* The cache holds a valid file for this machine (made by a first query). */
static struct gc_barrier_auto_choice prime_cache(void)
{
    struct gc_barrier_auto_choice c;
    query_quietly(0, &c);
    CHECK_MSG(!c.from_cache, "a fresh cache directory held a choice");
    CHECK_MSG(strcmp(c.cache_file, cache_file) == 0, "cache file %s, expected %s", c.cache_file,
              cache_file);
    CHECK(access(cache_file, R_OK) == 0);
    return c;
}

static void expect_cached(const struct gc_barrier_auto_choice *made)
{
    struct gc_barrier_auto_choice c;
    query_quietly(0, &c);
    CHECK_MSG(c.from_cache, "the cache was not used");
    CHECK(c.kind == made->kind && strcmp(c.figures, made->figures) == 0);
}

static void test_reuse(void)
{
    struct gc_barrier_auto_choice made = prime_cache();
    expect_cached(&made);
    const char *text = read_text(cache_file);
    CHECK(strstr(text, made.key) && strstr(text, made.figures));
    printf("cached %s: %s\n", gc_barrier_name(made.kind), made.figures);
}

static void test_key_change(void)
{
    struct gc_barrier_auto_choice made = prime_cache();
    /* The same file as made on another kernel. */
    char text[8192];
    snprintf(text, sizeof text, "%s", read_text(cache_file));
    char *kernel = strstr(text, "kernel=");
    CHECK(kernel != NULL);
    memcpy(kernel, "kernel=X", 8);
    write_text(cache_file, text);
    struct gc_barrier_auto_choice c;
    query_quietly(0, &c);
    CHECK_MSG(!c.from_cache, "a choice made for another key was used");
    CHECK_MSG(strstr(read_text(cache_file), made.key), "the file was not rewritten for this key");
    expect_cached(&c);
}

static void expect_ignored_and_rewritten(const char *why)
{
    struct gc_barrier_auto_choice c;
    int lines;
    const char *warnings = query_capturing(0, &c, &lines);
    CHECK_MSG(!c.from_cache, "a %s cache file was used", why);
    CHECK_MSG(lines == 1 && strstr(warnings, "ignoring the auto barrier's cache") &&
                  strstr(warnings, cache_file),
              "expected one warning line naming the file, got %d: %s", lines, warnings);
    printf("%s file: %s", why, warnings);
    expect_cached(&c);
}

static void test_corrupt(void)
{
    prime_cache();
    char text[8192];
    snprintf(text, sizeof text, "%s", read_text(cache_file));
    char *choice = strstr(text, "choice ");
    CHECK(choice != NULL);
    choice[7] = '?'; /* no barrier's name */
    write_text(cache_file, text);
    expect_ignored_and_rewritten("corrupt");
    write_text(cache_file, "\x01\x02 not text at all");
    expect_ignored_and_rewritten("binary");
}

static void test_unreadable(void)
{
    prime_cache();
    /* Not a regular file: opening a FIFO for reading must not wait for a writer. */
    CHECK(unlink(cache_file) == 0 && mkfifo(cache_file, 0600) == 0);
    expect_ignored_and_rewritten("FIFO");
    if (geteuid() == 0) {
        /* Permissions do not stop root: a file too long to be a cache file stands in. */
        char big[6000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        write_text(cache_file, big);
        expect_ignored_and_rewritten("oversized");
    } else {
        CHECK(chmod(cache_file, 0) == 0);
        expect_ignored_and_rewritten("unreadable");
    }
}

static void test_bypass(void)
{
    prime_cache();
    struct gc_barrier_auto_choice c;
    CHECK(setenv(GC_BARRIER_AUTO_CALIBRATE_ENV, "1", 1) == 0);
    query_quietly(0, &c);
    CHECK_MSG(!c.from_cache, "GCVM_CALIBRATE=1 read the cache");
    CHECK(setenv(GC_BARRIER_AUTO_CALIBRATE_ENV, "0", 1) == 0);
    query_quietly(0, &c);
    CHECK_MSG(c.from_cache, "GCVM_CALIBRATE=0 did not read the cache");
    unsetenv(GC_BARRIER_AUTO_CALIBRATE_ENV);
    query_quietly(1, &c);
    CHECK_MSG(!c.from_cache, "a requested calibration read the cache");
}

static void test_unwritable(void)
{
    /* XDG_CACHE_HOME is a regular file, so no directory can be made in it. */
    char blocker[300];
    snprintf(blocker, sizeof blocker, "%s/file", cache_home);
    write_text(blocker, "");
    CHECK(setenv("XDG_CACHE_HOME", blocker, 1) == 0);
    const char *home_now = getenv("HOME");
    char *home = home_now ? strdup(home_now) : NULL;
    unsetenv("HOME");
    struct gc_barrier_auto_choice c;
    int lines;
    const char *warnings = query_capturing(0, &c, &lines);
    CHECK(!c.from_cache && gc_barrier_available(c.kind, NULL, 0));
    CHECK_MSG(lines == 1 && strstr(warnings, "cannot write the auto barrier's cache"),
              "expected one warning line, got %d: %s", lines, warnings);
    printf("unwritable: %s", warnings);
    /* ... but with HOME set, ~/.cache is the fallback. */
    CHECK(setenv("HOME", cache_home, 1) == 0);
    query_quietly(0, &c);
    char fallback[400];
    snprintf(fallback, sizeof fallback, "%s/.cache/gcvm/barrier-auto", cache_home);
    CHECK_MSG(strcmp(c.cache_file, fallback) == 0, "cache file %s, expected %s", c.cache_file,
              fallback);
    CHECK(access(fallback, R_OK) == 0);
    /* Neither set: no cache, and nothing to warn about. */
    unsetenv("HOME");
    unsetenv("XDG_CACHE_HOME");
    query_quietly(0, &c);
    CHECK(!c.from_cache && c.cache_file[0] == 0);
    if (home)
        setenv("HOME", home, 1);
    free(home);
}

/* Writers measuring and rewriting while readers read: every reader sees a whole file. */
static void test_concurrent(void)
{
    prime_cache();
    enum { WRITERS = 3, READERS = 2 };
    pid_t pids[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        pids[i] = fork();
        CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            for (int r = 0; r < (i < WRITERS ? 4 : 40); r++) {
                struct gc_barrier_auto_choice c;
                query_quietly(i < WRITERS, &c);
                CHECK_MSG(i < WRITERS || c.from_cache, "a reader found no valid file");
            }
            _exit(0);
        }
    }
    for (int i = 0; i < WRITERS + READERS; i++) {
        int status;
        CHECK(waitpid(pids[i], &status, 0) == pids[i]);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d failed", i);
    }
    /* No temporary file is left behind. */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s/gcvm')\" = barrier-auto", cache_home);
    CHECK_MSG(system(cmd) == 0, "files other than barrier-auto in %s/gcvm", cache_home);
}

/* A heap with barrier auto: the first process measures, the second reads the cache. */
static void heap_reason(char *reason, size_t len)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct gc_config cfg;
        gc_config_init(&cfg);
        cfg.barrier = GC_BARRIER_AUTO;
        cfg.heap_max_bytes = (size_t)16 << 20;
        char err[256];
        struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
        CHECK_MSG(h != NULL, "%s", err);
        const char *why = gc_heap_barrier_reason(h);
        CHECK(write(fds[1], why, strlen(why)) == (ssize_t)strlen(why));
        gc_heap_destroy(h);
        _exit(0);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], reason, len - 1);
    reason[n > 0 ? n : 0] = 0;
    close(fds[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_heap(void)
{
    char first[1024], second[1024];
    heap_reason(first, sizeof first);
    heap_reason(second, sizeof second);
    printf("first: %s\nsecond: %s\n", first, second);
    CHECK(strncmp(first, "auto:", 5) == 0 && strstr(first, "(measured now, cached in "));
    CHECK(strstr(second, "(cached in ") && strstr(second, cache_file));
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(void);
    } cases[] = {{"reuse", test_reuse},           {"key-change", test_key_change},
                 {"corrupt", test_corrupt},       {"unreadable", test_unreadable},
                 {"bypass", test_bypass},         {"unwritable", test_unwritable},
                 {"concurrent", test_concurrent}, {"heap", test_heap}};
    for (size_t i = 0; argc == 2 && i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            make_cache_home();
            cases[i].run();
            remove_cache_home();
            puts("PASS");
            return 0;
        }
    }
    fprintf(stderr, "usage: test_barrier_auto_cache CASE (reuse, key-change, ...)\n");
    return 2;
}
