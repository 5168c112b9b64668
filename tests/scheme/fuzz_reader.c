/* libFuzzer target: the reader (of program text and of data), the compiler and the printer on
 * arbitrary bytes. Any input must end in data or a Scheme error, never a crash, a hang or a
 * sanitizer report. Compiled code is kept for the whole run by design, so leak detection is off
 * (-detect_leaks=0). Built with -DGCVM_FUZZ=ON and clang. */
#include <stdint.h>
#include <stdlib.h>

#include "ports.h"

static const char *input;
static size_t input_len;

static void read_compile_print(void *arg)
{
    (void)arg;
    struct reader r;
    reader_init(&r, input, input_len, source_file_index("fuzz"));
    /* Inputs of odd length are read as data (the `read` procedure): their new symbols are
     * heap ones, settled before compiling as eval does. */
    r.heap_symbols = (int)(input_len & 1);
    value datum;
    while (read_datum(&r, &datum)) {
        vs_push(datum);
        vs_push(make_string_output_port());
        write_value(vs[vsp - 1], vs[vsp - 2], 0);
        vs[vsp - 2] = symbols_settle(vs[vsp - 2]);
        compile_toplevel(vs[vsp - 2]);
        vsp -= 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        eval_init((size_t)4 << 20); /* below the main thread's 8 MiB */
        scm_use_boehm = 0;
        define_builtins();
        struct memory_options opt = {.gc = USE_GCVM, .barrier = "card", .heap_bytes = 64u << 20};
        char err[256];
        if (memory_init(&opt, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_reader: %s\n", err);
            abort();
        }
        ports_init();
        scm_error_output_suppressed = 1;
        ready = 1;
    }
    input = (const char *)data;
    input_len = size;
    run_protected(read_compile_print, NULL);
    return 0;
}
