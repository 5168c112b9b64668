/* The auto barrier's cache file. It is four lines of text:
 *
 *   gcvm barrier-auto cache 1
 *   key kernel=6.1.0-13-amd64; cpu=... (virtualization vmx); offered=card mprotect ...
 *   choice card
 *   figures card 4.3 ms; mprotect 13.6 ms; ...
 *
 * Anything else is not a cache file: it is reported, ignored and replaced. The first
 * line's number changes when the calibration workload does, which makes old files
 * stale. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "barrier_auto_cache.h"
#include "gc_internal.h"

#define CACHE_MAGIC "gcvm barrier-auto cache 1"
#define CACHE_NAME "barrier-auto"
#define CACHE_MAX_BYTES 4096

/* The first CPU's model name and hardware virtualization flag (vmx, svm or none), from
 * /proc/cpuinfo. */
static void cpu_model(char *model, size_t len, const char **virt)
{
    snprintf(model, len, "unknown");
    *virt = "none";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[8192];
    bool have_model = false;
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (!colon)
            continue;
        colon += strspn(colon + 1, " \t") + 1;
        if (!have_model && strncmp(line, "model name", 10) == 0) {
            snprintf(model, len, "%.*s", (int)strcspn(colon, "\n"), colon);
            have_model = true;
        } else if (strncmp(line, "flags", 5) == 0) {
            *virt = strstr(line, " vmx") ? "vmx" : strstr(line, " svm") ? "svm" : "none";
            break;
        }
    }
    fclose(f);
}

void barrier_auto_cache_key(const char *offered, char *key, size_t len)
{
    struct utsname u;
    char cpu[256];
    const char *virt;
    if (uname(&u) != 0)
        snprintf(u.release, sizeof u.release, "unknown");
    cpu_model(cpu, sizeof cpu, &virt);
    snprintf(key, len, "kernel=%s; cpu=%s (virtualization %s); offered=%s", u.release, cpu, virt,
             offered);
}

/* Makes dir and its missing parents (mode 0700, as the XDG base directory spec asks).
 * Returns 0 when dir exists as a directory afterwards. */
static int make_dirs(char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -1;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int rc = make_dirs(dir);
        *slash = '/';
        if (rc != 0)
            return -1;
    }
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int barrier_auto_cache_path(char *path, size_t len)
{
    char dirs[2][512];
    int n = 0;
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    /* The spec says a relative XDG_CACHE_HOME is invalid and is to be ignored. */
    if (xdg && xdg[0] == '/' &&
        snprintf(dirs[n], sizeof dirs[n], "%s/gcvm", xdg) < (int)sizeof dirs[n])
        n++;
    if (home && home[0] &&
        snprintf(dirs[n], sizeof dirs[n], "%s/.cache/gcvm", home) < (int)sizeof dirs[n])
        n++;
    if (n == 0)
        return -1;
    int use = 0;
    for (int i = 0; i < n; i++) {
        if (make_dirs(dirs[i]) == 0 && access(dirs[i], W_OK) == 0) {
            use = i;
            break;
        }
    }
    return snprintf(path, len, "%s/" CACHE_NAME, dirs[use]) < (int)len ? 0 : -1;
}

/* Takes the next line of *text (without its newline) if it begins with `tag`; returns
 * what follows the tag, or NULL. */
static char *take_line(char **text, const char *tag)
{
    char *line = *text;
    char *nl = strchr(line, '\n');
    if (!nl)
        return NULL;
    *nl = 0;
    *text = nl + 1;
    size_t n = strlen(tag);
    return strncmp(line, tag, n) == 0 ? line + n : NULL;
}

/* Reads the whole file into text, terminated; returns NULL, or why it cannot. */
static const char *read_cache_text(int fd, char *text, size_t size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return strerror(errno);
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    ssize_t got = read(fd, text, size);
    if (got < 0)
        return strerror(errno);
    if ((size_t)got >= size)
        return "too long to be a cache file";
    text[got] = 0;
    return NULL;
}

int barrier_auto_cache_read(const char *path, const char *key, enum gc_barrier_kind *kind,
                            char *figures, size_t figures_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0; /* no cache yet */
    char text[CACHE_MAX_BYTES + 1] = {0};
    const char *problem = fd < 0 ? strerror(errno) : read_cache_text(fd, text, sizeof text);
    if (fd >= 0)
        close(fd);
    char *rest = text, *magic = NULL, *stored_key = NULL, *choice = NULL, *stored_figures = NULL;
    if (!problem) {
        if (!(magic = take_line(&rest, CACHE_MAGIC)) || *magic)
            problem = "not a cache file of this version";
        else if (!(stored_key = take_line(&rest, "key ")))
            problem = "no key line";
        else if (strcmp(stored_key, key) != 0)
            return 0; /* made on another machine, kernel or set of barriers */
        else if (!(choice = take_line(&rest, "choice ")) || gc_barrier_parse(choice, kind) != 0 ||
                 *kind == GC_BARRIER_AUTO || *kind == GC_BARRIER_DEFAULT)
            problem = "no valid choice line";
        else if (!(stored_figures = take_line(&rest, "figures ")) || *rest)
            problem = "no valid figures line";
    }
    if (problem) {
        gc_warn("ignoring the auto barrier's cache %s (%s); measuring again", path, problem);
        return -1;
    }
    snprintf(figures, figures_len, "%s", stored_figures);
    return 1;
}

void barrier_auto_cache_write(const char *path, const char *key, enum gc_barrier_kind kind,
                              const char *figures)
{
    char tmp[600];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
        return;
    int fd = mkostemp(tmp, O_CLOEXEC);
    bool ok = fd >= 0;
    if (ok) {
        char text[CACHE_MAX_BYTES + 1];
        int n = snprintf(text, sizeof text, CACHE_MAGIC "\nkey %s\nchoice %s\nfigures %s\n", key,
                         gc_barrier_name(kind), figures);
        ok = n > 0 && n <= CACHE_MAX_BYTES && fchmod(fd, 0644) == 0 &&
             write(fd, text, (size_t)n) == n;
        ok = close(fd) == 0 && ok;
        ok = ok && rename(tmp, path) == 0;
        if (!ok) {
            int saved = errno;
            unlink(tmp);
            errno = saved;
        }
    }
    if (!ok)
        gc_warn("cannot write the auto barrier's cache %s (%s); it will be measured again at "
                "the next start (point XDG_CACHE_HOME at a writable directory)",
                path, strerror(errno));
}
