/* The auto barrier's cache file: one per user, holding the choice made on this machine
 * with the key that decides it (docs/barriers.md, "auto"). */
#ifndef GCVM_BARRIER_AUTO_CACHE_H
#define GCVM_BARRIER_AUTO_CACHE_H

#include <stddef.h>

#include "gcvm/gc.h"

/* Writes the key of a choice to key: this kernel's release, this CPU's model and
 * `offered` (the barriers auto may choose among, as barrier_auto.c names them). */
void barrier_auto_cache_key(const char *offered, char *key, size_t len);

/* Writes the cache file's path: in $XDG_CACHE_HOME/gcvm when XDG_CACHE_HOME is an
 * absolute path and that directory exists or can be made writable, else in
 * $HOME/.cache/gcvm likewise, else the first of those (reading may work, writing will
 * warn). Returns 0, or -1 when neither variable is set (then there is no cache). */
int barrier_auto_cache_path(char *path, size_t len);

/* Reads the cache file. Returns 1 with *kind and figures set when it holds a choice for
 * `key`; 0 when it does not exist or holds another key's choice; -1, after a one-line
 * warning, when it cannot be read or is not a cache file. */
int barrier_auto_cache_read(const char *path, const char *key, enum gc_barrier_kind *kind,
                            char *figures, size_t figures_len);

/* Replaces the cache file by one holding this choice, through a new file renamed over it,
 * so that a concurrent reader sees the old file or the new one, never a mix. A failure is
 * a one-line warning. */
void barrier_auto_cache_write(const char *path, const char *key, enum gc_barrier_kind kind,
                              const char *figures);

#endif
