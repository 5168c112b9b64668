/* The REPL's history file: $XDG_DATA_HOME/gcvm/scheme_history when XDG_DATA_HOME is an
 * absolute path, else ~/.local/share/gcvm/scheme_history (the XDG default for user
 * data). libedit reads and writes it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <editline/readline.h>

#include "repl_history.h"

/* Writes the history file's directory to dir; returns 0, or -1 when there is none. */
static int history_dir(char *dir, size_t len)
{
    const char *data = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (data && data[0] == '/')
        n = snprintf(dir, len, "%s/gcvm", data);
    else if (home && home[0])
        n = snprintf(dir, len, "%s/.local/share/gcvm", home);
    else
        return -1;
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int history_file(char *path, size_t len)
{
    char dir[4096];
    if (history_dir(dir, sizeof dir) != 0)
        return -1;
    int n = snprintf(path, len, "%s/scheme_history", dir);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Makes dir and its missing parents, mode 0700. Returns 0 or an errno value. */
static int make_dirs(char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int rc = make_dirs(dir);
        *slash = '/';
        if (rc != 0)
            return rc;
    }
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : errno;
}

void repl_history_load(void)
{
    char path[4200];
    stifle_history(REPL_HISTORY_LINES);
    if (history_file(path, sizeof path) == 0)
        read_history(path); /* a missing file is an empty history */
}

void repl_history_save(void)
{
    char dir[4096], path[4200];
    if (history_dir(dir, sizeof dir) != 0 || history_file(path, sizeof path) != 0)
        return;
    int rc = make_dirs(dir);
    if (rc == 0) {
        errno = 0;
        rc = write_history(path) == 0 ? 0 : errno ? errno : EIO;
    }
    if (rc != 0)
        fprintf(stderr, "gcvm-scheme: warning: cannot save the REPL history in %s: %s\n", path,
                strerror(rc));
}
