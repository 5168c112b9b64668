/* gcvm-scheme: the command line, the script runner and the REPL.
 *
 * The interpreter runs on a thread of its own whose stack is large (--stack), so that
 * deep non-tail recursion is limited by a documented size and reported as an error
 * before it could overflow. That thread creates the heap, so it is the heap's mutator
 * (and, with --vm or a gcvm barrier, the thread in guest mode). */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gc/gc.h>
#include <gcvm/gcvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "repl_history.h"
#include "scheme.h"

struct options {
    struct memory_options mem;
    size_t stack_bytes;
    int stats;
    int bench_stats;
    const char *file;
    char **options; /* argv up to the last option: the -e expressions are found there */
    int option_count;
    int expr_count; /* how many -e EXPR */
    int script_argc;
    char **script_argv;
};

static const char usage[] =
    "usage: gcvm-scheme [OPTION]... [FILE [ARG]...]\n"
    "       gcvm-scheme [OPTION]... -e EXPR [-e EXPR]... [ARG]...\n"
    "Runs the Scheme program FILE (its input is stdin), or a REPL without FILE.\n"
    "\n"
    "  -e EXPR               evaluate EXPR and print its value (more than one: in order),\n"
    "                        then exit: status 1 after an error\n"
    "  --gc=gcvm|boehm       the collector: gcvm's generational one (default) or Boehm GC\n"
    "  --boehm-incremental   with --gc=boehm: Boehm's incremental mode\n"
    "  --barrier=NAME        gcvm's write barrier: none, card, mprotect, uffd, soft-dirty,\n"
    "                        gcvm-dirty, gcvm-protect, auto (default: GCVM_BARRIER, else auto)\n"
    "  --heap=SIZE           heap limit, e.g. 256M or 4G (default: physical memory)\n"
    "  --nursery=SIZE        gcvm's nursery, fixed (default: sized by the heap from 2M)\n"
    "  --stack=SIZE          the interpreter's stack, which bounds recursion depth (default 512M)\n"
    "  --vm                  run the interpreter in guest mode through the gcvm engine\n"
    "  --stats               print collector statistics to stderr at exit\n"
    "  --bench-stats         print one line to stderr at exit: run time, GC time, max pause\n"
    "  --help                this text\n";

__attribute__((noreturn)) static void bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "gcvm-scheme: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try --help)\n");
    exit(2);
}

static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == s || errno || s[0] == '-')
        bad_usage("bad size '%s': expected a number with an optional K, M or G suffix", s);
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        shift = 10;
        end++;
        break;
    case 'M':
        shift = 20;
        end++;
        break;
    case 'G':
        shift = 30;
        end++;
        break;
    case 0: break;
    default: bad_usage("bad size '%s': expected a number with an optional K, M or G suffix", s);
    }
    if ((*end == 'B' || *end == 'b') && end[1] == 0)
        end++;
    if (*end || n > (1ull << 40) >> shift)
        bad_usage("bad size '%s': expected a number with an optional K, M or G suffix", s);
    return (size_t)(n << shift);
}

static void parse_options(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->stack_bytes = (size_t)512 << 20;
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == 0)
            break;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        } else if (strcmp(a, "-e") == 0) {
            if (i + 1 == argc)
                bad_usage("%s needs an expression, e.g. -e '(+ 1 2)'", a);
            o->expr_count++;
            i++;
        } else if (strncmp(a, "--gc=", 5) == 0) {
            if (strcmp(a + 5, "gcvm") == 0)
                o->mem.gc = USE_GCVM;
            else if (strcmp(a + 5, "boehm") == 0)
                o->mem.gc = USE_BOEHM;
            else
                bad_usage("unknown collector '%s' (use --gc=gcvm or --gc=boehm)", a + 5);
        } else if (strcmp(a, "--boehm-incremental") == 0) {
            o->mem.boehm_incremental = 1;
        } else if (strncmp(a, "--barrier=", 10) == 0) {
            o->mem.barrier = a + 10;
        } else if (strncmp(a, "--heap=", 7) == 0) {
            o->mem.heap_bytes = parse_size(a + 7);
        } else if (strncmp(a, "--nursery=", 10) == 0) {
            o->mem.nursery_bytes = parse_size(a + 10);
        } else if (strncmp(a, "--stack=", 8) == 0) {
            o->stack_bytes = parse_size(a + 8);
            if (o->stack_bytes < ((size_t)1 << 20))
                bad_usage("--stack=%s is too small (at least 1M)", a + 8);
        } else if (strcmp(a, "--vm") == 0) {
            o->mem.vm = 1;
        } else if (strcmp(a, "--stats") == 0) {
            o->stats = 1;
        } else if (strcmp(a, "--bench-stats") == 0) {
            o->bench_stats = 1;
        } else {
            bad_usage("unknown option '%s'", a);
        }
    }
    if (o->mem.boehm_incremental && o->mem.gc != USE_BOEHM)
        bad_usage("%s needs --gc=boehm", "--boehm-incremental");
    if (o->mem.barrier && o->mem.gc == USE_BOEHM)
        bad_usage("%s: Boehm GC has no barrier choice (use --boehm-incremental)", "--barrier");
    if (o->mem.vm && o->mem.gc == USE_BOEHM)
        bad_usage("%s works with --gc=gcvm only", "--vm");
    o->options = argv;
    o->option_count = i;
    if (o->expr_count > 0) {
        /* The arguments after the options are the expressions' (command-line). */
        o->script_argc = argc - i;
        o->script_argv = argv + i;
    } else if (i < argc) {
        o->file = argv[i];
        o->script_argc = argc - i;
        o->script_argv = argv + i;
    }
}

/* ---- Running a file ---- */

struct program {
    const char *text;
    size_t len;
    int file;
};

static void run_program(void *arg)
{
    struct program *p = arg;
    struct reader r;
    reader_init(&r, p->text, p->len, p->file);
    value form;
    while (read_datum(&r, &form))
        eval_toplevel(form);
}

/* Reads the whole file with read(2) into a buffer the program has written first: in
 * guest mode a forwarded read into a page the guest never touched does not complete
 * (docs/scheme.md), and stdio's own buffers would be such pages. */
static char *slurp(int fd, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    memset(buf, 0, cap);
    for (;;) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            memset(nb + cap, 0, cap);
            buf = nb;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static int run_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "gcvm-scheme: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    struct program p;
    char *text = slurp(fd, &p.len);
    close(fd);
    if (!text) {
        fprintf(stderr, "gcvm-scheme: out of memory reading %s\n", path);
        return 2;
    }
    p.text = text;
    p.file = source_file_index(path);
    int rc = run_protected(run_program, &p);
    free(text);
    flush_standard_ports();
    if (rc == 2)
        return scm_exit_requested();
    return rc == 0 ? 0 : 1;
}

/* ---- The REPL ---- */

struct repl_chunk {
    const char *text;
    size_t len;
    int file;
    int first_line;       /* the session's line number of the text's first line */
    struct reader reader; /* here, so that its incomplete flag survives a read error */
};

/* Reads every datum of the chunk onto the value stack (as one list). */
static void repl_read_all(void *arg)
{
    struct repl_chunk *c = arg;
    reader_init(&c->reader, c->text, c->len, c->file);
    c->reader.line = c->first_line;
    size_t base = vsp;
    value form;
    while (read_datum(&c->reader, &form))
        vs_push(form);
    value l = list_from_stack(base, vsp - base, NIL);
    vsp = base;
    runtime_roots[ROOT_SCRATCH] = l;
}

static void repl_eval_print(void *arg)
{
    (void)arg;
    value form = CAR(runtime_roots[ROOT_SCRATCH]);
    value v = eval_toplevel(form);
    if (v == UNSPEC || SYMBOL_P(v))
        return; /* statements and definitions print nothing */
    vs_push(v);
    value out = runtime_roots[ROOT_CUR_OUT];
    if (IS(v, T_VALUES)) {
        for (size_t i = 0; i < VLEN(vs[vsp - 1]); i++) {
            write_value(out, VREF(vs[vsp - 1], i), 0);
            port_puts(out, "\n");
        }
    } else {
        write_value(out, v, 0);
        port_puts(out, "\n");
    }
    vsp--;
}

/* Evaluates the forms read into ROOT_SCRATCH, printing each value. Returns 0; 1 after an
 * error (the rest are not evaluated); or, when the program called exit, 2 + its status. */
static int eval_print_all(void)
{
    int rc = 0;
    while (rc == 0 && PAIR_P(runtime_roots[ROOT_SCRATCH])) {
        int erc = run_protected(repl_eval_print, NULL);
        flush_standard_ports();
        if (erc == 2)
            rc = 2 + scm_exit_requested();
        else if (erc == 1)
            rc = 1;
        else
            runtime_roots[ROOT_SCRATCH] = CDR(runtime_roots[ROOT_SCRATCH]);
    }
    runtime_roots[ROOT_SCRATCH] = NIL;
    return rc;
}

/* -e EXPR...: each expression's values printed as the REPL prints them. Locations count
 * lines as if the expressions were one text, one after another on their own lines. */
static int run_expressions(const struct options *o)
{
    int file = source_file_index("-e");
    int line = 1;
    for (int i = 1; i < o->option_count; i++) {
        if (strcmp(o->options[i], "-e") != 0)
            continue;
        const char *text = o->options[++i];
        struct repl_chunk c = {.text = text, .len = strlen(text), .file = file, .first_line = line};
        if (run_protected(repl_read_all, &c) != 0)
            return 1;
        int rc = eval_print_all();
        if (rc >= 2)
            return rc - 2;
        if (rc == 1)
            return 1;
        for (line++; (text = strchr(text, '\n')); text++)
            line++;
    }
    return 0;
}

/* The REPL's next line, without its newline, or NULL at the end of the input. */
static char *repl_wait_for_line(int interactive, int continuing);

struct line_request {
    int interactive, continuing;
    char *line;
};

static void wait_for_line(void *arg)
{
    struct line_request *r = arg;
    r->line = repl_wait_for_line(r->interactive, r->continuing);
}

/* The same in a blocking region: other threads collect while the REPL waits. */
static char *repl_read_line(int interactive, int continuing)
{
    struct line_request r = {interactive, continuing, NULL};
    scm_blocking(wait_for_line, &r);
    return r.line;
}

static char *repl_wait_for_line(int interactive, int continuing)
{
    if (interactive) {
        char *line = readline(continuing ? "... " : "> ");
        if (line && *line && strcmp(line, ",q") != 0)
            add_history(line);
        return line;
    }
    size_t cap = 0;
    char *line = NULL;
    if (getline(&line, &cap, stdin) < 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\n")] = 0;
    return line;
}

static int repl(void)
{
    int interactive = isatty(0);
    char *buf = NULL;
    size_t len = 0;
    int file = source_file_index("repl");
    int lines = 0, chunk_line = 1; /* lines read so far; where the datum being read began */
    int status = 0;
    if (interactive) {
        repl_history_load();
        printf("gcvm-scheme (%s); ,q or (exit) to leave\n", memory_describe());
    }
    for (;;) {
        char *line = repl_read_line(interactive, len > 0);
        if (!line)
            break;
        lines++;
        if (len == 0 && strcmp(line, ",q") == 0) {
            free(line);
            break;
        }
        if (len == 0)
            chunk_line = lines;
        size_t add = strlen(line);
        char *nb = realloc(buf, len + add + 2);
        if (!nb) {
            free(line);
            fprintf(stderr, "gcvm-scheme: out of memory\n");
            break;
        }
        buf = nb;
        memcpy(buf + len, line, add);
        len += add;
        buf[len++] = '\n';
        buf[len] = 0;
        free(line);
        struct repl_chunk c = {.text = buf, .len = len, .file = file, .first_line = chunk_line};
        scm_error_output_suppressed = 1;
        int rc = run_protected(repl_read_all, &c);
        scm_error_output_suppressed = 0;
        if (rc == 1 && c.reader.incomplete)
            continue; /* a datum goes on over the next line */
        len = 0;
        if (rc == 1) {
            run_protected(repl_read_all, &c); /* again, to print the read error */
            continue;
        }
        int erc = eval_print_all();
        if (erc >= 2) {
            status = erc - 2;
            break;
        }
    }
    if (interactive)
        repl_history_save();
    free(buf);
    if (interactive)
        printf("\n");
    if (len > 0) {
        fprintf(stderr, "gcvm-scheme: the input ended inside a datum (it was not evaluated)\n");
        return 1;
    }
    return status;
}

/* ---- The interpreter thread ---- */

struct run {
    struct options *opt;
    int exit_code;
};

static void init_command_line(struct options *o)
{
    size_t base = vsp;
    if (o->script_argc == 0 || !o->file) {
        vs_push(string_from_utf8("gcvm-scheme", 11));
        for (int i = 0; i < o->script_argc; i++)
            vs_push(string_from_utf8(o->script_argv[i], strlen(o->script_argv[i])));
    } else {
        for (int i = 0; i < o->script_argc; i++)
            vs_push(string_from_utf8(o->script_argv[i], strlen(o->script_argv[i])));
    }
    runtime_roots[ROOT_COMMAND_LINE] = list_from_stack(base, vsp - base, NIL);
    vsp = base;
}

static void *interpreter_main(void *arg)
{
    struct run *run = arg;
    struct options *o = run->opt;
    if (o->mem.gc == USE_BOEHM) {
        struct GC_stack_base sb;
        GC_get_stack_base(&sb);
        GC_register_my_thread(&sb);
    }
    eval_init(o->stack_bytes);
    threads_configure(o->stack_bytes);
    /* Everything that lives outside the heap is made before the heap exists: with --vm
     * or a gcvm barrier, creating the heap enters guest mode, where (on an emulated
     * ring 0) every instruction is slow. */
    scm_use_boehm = o->mem.gc == USE_BOEHM;
    define_builtins();
    char err[512];
    if (memory_init(&o->mem, err, sizeof err) != 0) {
        fprintf(stderr, "gcvm-scheme: %s\n", err);
        run->exit_code = 2;
        return NULL;
    }
    ports_init();
    init_command_line(o);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run->exit_code = o->expr_count ? run_expressions(o) : o->file ? run_file(o->file) : repl();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    flush_standard_ports();
    if (o->bench_stats)
        fprintf(stderr,
                "gcvm-scheme-stats run_ms=%.3f gc_ms=%.3f max_pause_ms=%.3f collections=%llu\n",
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
                memory_gc_ms(), memory_max_pause_ms(), (unsigned long long)memory_collections());
    if (o->stats) {
        fprintf(stderr, "gcvm-scheme: collector %s\n", memory_describe());
        memory_print_stats(stderr);
    }
    if (threads_running() > 0) {
        /* The program ends with the first thread (SRFI-18): the others still use the
         * heap, so it is left for the process's exit. */
        fflush(NULL);
        _exit(run->exit_code);
    }
    eval_thread_finish();
    equal_thread_finish();
    read_thread_finish();
    memory_finish();
    if (o->mem.vm && gcvm_in_guest())
        gcvm_exit();
    if (o->mem.gc == USE_BOEHM)
        GC_unregister_my_thread();
    return NULL;
}

int main(int argc, char **argv)
{
    struct options o;
    parse_options(argc, argv, &o);
    if (o.mem.gc == USE_BOEHM) {
        if (o.mem.boehm_incremental)
            GC_enable_incremental();
        GC_INIT();
        GC_allow_register_threads();
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (pthread_attr_setstacksize(&attr, o.stack_bytes) != 0) {
        fprintf(stderr, "gcvm-scheme: --stack: cannot use a stack of %zu bytes\n", o.stack_bytes);
        return 2;
    }
    struct run run = {&o, 0};
    pthread_t t;
    int rc = pthread_create(&t, &attr, interpreter_main, &run);
    if (rc != 0) {
        fprintf(stderr, "gcvm-scheme: cannot start the interpreter thread: %s\n", strerror(rc));
        return 2;
    }
    pthread_join(t, NULL);
    return run.exit_code;
}
