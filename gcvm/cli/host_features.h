/* Probes of the host's page-tracking mechanisms, for `gcvm info`. Each writes one line
 * beginning with "yes" or "no" (and the reason). */
#ifndef GCVM_CLI_HOST_FEATURES_H
#define GCVM_CLI_HOST_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

void probe_userfaultfd_wp(char *out, size_t len);
void probe_pagemap_scan(char *out, size_t len);
void probe_soft_dirty(char *out, size_t len);

#endif
