/* Source files read at run time: (load "file") evaluates a file's forms at top level, and
 * (include "file" ...), expanded before compiling, stands for the forms of the files as a
 * (begin ...). A relative name is taken from the current directory. */
#include <stdlib.h>
#include <string.h>

#include "ports.h"

/* The forms of the file named by the string name, as a list; raises a file error naming
 * the file when it cannot be read. */
static value read_file_forms(const char *who, value name)
{
    char path[4096];
    string_to_c_string(who, name, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        file_error(who, name);
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *bigger = realloc(text, cap * 2);
            if (!bigger)
                free(text);
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!text)
        scm_error1("out of memory outside the heap reading the file", name);
    struct reader r;
    reader_init(&r, text, len, source_file_index(path));
    size_t base = vsp;
    value form;
    while (read_datum(&r, &form))
        vs_push(form);
    free(text);
    value forms = list_from_stack(base, vsp - base, NIL);
    vsp = base;
    return forms;
}

value include_forms(value form)
{
    size_t base = vsp;
    vs_push(form);
    vs_push(NIL); /* the forms read so far, reversed */
    for (value names = CDR(form); PAIR_P(names); names = CDR(names)) {
        if (!STRING_P(CAR(names)))
            scm_error1("include takes file names (strings)", vs[base]);
    }
    vs_push(CDR(vs[base])); /* the names left */
    while (PAIR_P(vs[base + 2])) {
        vs_push(read_file_forms("include", CAR(vs[base + 2])));
        while (PAIR_P(vs[base + 3])) {
            vs[base + 1] = cons(CAR(vs[base + 3]), vs[base + 1]);
            vs[base + 3] = CDR(vs[base + 3]);
        }
        vsp--;
        vs[base + 2] = CDR(vs[base + 2]);
    }
    vs[base + 2] = NIL;
    while (PAIR_P(vs[base + 1])) {
        vs[base + 2] = cons(CAR(vs[base + 1]), vs[base + 2]);
        vs[base + 1] = CDR(vs[base + 1]);
    }
    value out = cons(intern_c("begin"), vs[base + 2]);
    vsp = base;
    return out;
}

static value p_load(int argc, value *argv)
{
    (void)argc;
    if (!STRING_P(argv[0]))
        type_error("load", "a file name (a string)", argv[0]);
    vs_push(read_file_forms("load", argv[0]));
    while (PAIR_P(vs[vsp - 1])) {
        eval_toplevel(CAR(vs[vsp - 1]));
        vs[vsp - 1] = CDR(vs[vsp - 1]);
    }
    vsp--;
    return UNSPEC;
}

void load_init(void)
{
    define_primitive("load", p_load, 1, 2);
}
