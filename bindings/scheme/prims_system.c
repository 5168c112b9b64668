/* (scheme process-context), (scheme time), eval. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheme.h"

extern char **environ;
__attribute__((noreturn)) void scm_exit(int code);

static value p_command_line(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return runtime_roots[ROOT_COMMAND_LINE];
}

static int exit_code_of(int argc, value *argv)
{
    if (argc == 0 || argv[0] == TRUE_V)
        return 0;
    if (FIXNUM_P(argv[0]))
        return (int)(FIX(argv[0]) & 0xff);
    return 1;
}

static value p_exit(int argc, value *argv)
{
    scm_exit(exit_code_of(argc, argv));
}

static value p_emergency_exit(int argc, value *argv)
{
    flush_standard_ports();
    _Exit(exit_code_of(argc, argv));
}

static value p_getenv(int argc, value *argv)
{
    (void)argc;
    if (!STRING_P(argv[0]))
        type_error("get-environment-variable", "a string", argv[0]);
    char name[4096];
    string_to_c_string("get-environment-variable", argv[0], name, sizeof name);
    const char *v = getenv(name);
    return v ? string_from_utf8(v, strlen(v)) : FALSE_V;
}

static value p_getenvs(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    vs_push(NIL);
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        vs_push(string_from_utf8(*e, (size_t)(eq - *e)));
        value v = string_from_utf8(eq + 1, strlen(eq + 1));
        value pair = cons(vs[vsp - 1], v);
        vsp--;
        vs[vsp - 1] = cons(pair, vs[vsp - 1]);
    }
    return vs[--vsp];
}

static double now(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static value p_current_jiffy(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return MAKE_FIX((intptr_t)t.tv_sec * 1000000 + t.tv_nsec / 1000);
}

static value p_jiffies_per_second(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return MAKE_FIX(1000000);
}

static value p_current_second(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return make_flonum(now(CLOCK_REALTIME));
}

static value p_eval(int argc, value *argv)
{
    (void)argc;
    return eval_toplevel(argv[0]);
}

static value p_environment(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return UNSPEC; /* there is one environment: the top level */
}

void prims_system_init(void)
{
    define_primitive("command-line", p_command_line, 0, 0);
    define_primitive("exit", p_exit, 0, 1);
    define_primitive("emergency-exit", p_emergency_exit, 0, 1);
    define_primitive("get-environment-variable", p_getenv, 1, 1);
    define_primitive("get-environment-variables", p_getenvs, 0, 0);
    define_primitive("current-jiffy", p_current_jiffy, 0, 0);
    define_primitive("jiffies-per-second", p_jiffies_per_second, 0, 0);
    define_primitive("current-second", p_current_second, 0, 0);
    define_primitive("eval", p_eval, 1, 2);
    define_primitive("interaction-environment", p_environment, 0, 0);
    define_primitive("environment", p_environment, 0, -1);
}
