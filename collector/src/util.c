/* Utilities of the collector: time, page faults, fatal errors and warnings, error
 * messages for the caller, the growable work stack. */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "gc_internal.h"
uint64_t gc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t page_faults_of(int who)
{
    struct rusage ru;
    return getrusage(who, &ru) == 0 ? (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt : 0;
}

uint64_t process_page_faults(void)
{
    return page_faults_of(RUSAGE_SELF);
}

uint64_t thread_page_faults(void)
{
    return page_faults_of(RUSAGE_THREAD);
}

struct thread_switches thread_context_switches(void)
{
    struct rusage ru;
    struct thread_switches s = {0, 0};
    if (getrusage(RUSAGE_THREAD, &ru) == 0) {
        s.waited = (uint64_t)ru.ru_nvcsw;
        s.preempted = (uint64_t)ru.ru_nivcsw;
    }
    return s;
}

/* One line "gcvm-gc: WHAT: message" written with one call, so that lines from several
 * threads do not interleave. */
static void report_line(const char *what, const char *fmt, va_list ap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "gcvm-gc: %s: ", what);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = m < 0 ? (size_t)n : (size_t)n + (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

void gc_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line("fatal", fmt, ap);
    va_end(ap);
    abort();
}

void gc_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line("warning", fmt, ap);
    va_end(ap);
}

void ptr_stack_grow(struct ptr_stack *s)
{
    size_t cap = s->capacity ? s->capacity * 2 : 1024;
    void **items = realloc(s->items, cap * sizeof *items);
    if (!items)
        gc_fatal("out of memory for the collector's work list (%zu entries)", cap);
    s->items = items;
    s->capacity = cap;
}

void gc_set_error(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}
