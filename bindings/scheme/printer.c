/* The printer: write (machine-readable) and display (human-readable). Whatever it
 * prints is on the value stack while it prints, since writing to a string port may
 * allocate. A circular list prints as #<circular list> instead of looping. */
#include <string.h>

#include "code.h"
#include "ports.h"

void stack_check(void);

static bool circular_list(value l)
{
    value slow = l;
    while (PAIR_P(l) && PAIR_P(CDR(l))) {
        l = CDR(CDR(l));
        slow = CDR(slow);
        if (l == slow)
            return true;
    }
    return false;
}

static const char *char_name(uint32_t c)
{
    switch (c) {
    case ' ': return "space";
    case '\n': return "newline";
    case '\t': return "tab";
    case '\r': return "return";
    case 0: return "null";
    case 7: return "alarm";
    case 8: return "backspace";
    case 127: return "delete";
    case 27: return "escape";
    default: return NULL;
    }
}

/* Control characters (C0, DEL and C1): write shows them as escapes. */
static bool control_char_p(uint32_t c)
{
    return c < 32 || (c >= 127 && c < 160);
}

/* Writes c as UTF-8. */
void write_char_to(value port, uint32_t c)
{
    char b[UTF8_MAX];
    port_write(port, b, utf8_encode(c, b));
}

/* Writes the string at vs[sslot] as a literal that read gives back: the escapes R7RS
 * names, \xHH; for other control characters, every other character as itself (UTF-8). */
static void write_string_literal(size_t sslot, size_t pslot)
{
    port_puts(vs[pslot], "\"");
    char buf[256];
    size_t n = 0;
    for (size_t i = 0; i < STRING_LEN(vs[sslot]); i++) {
        uint32_t c = STRING_CHARS(vs[sslot])[i];
        switch (c) {
        case '"': n += (size_t)snprintf(buf + n, 3, "\\\""); break;
        case '\\': n += (size_t)snprintf(buf + n, 3, "\\\\"); break;
        case '\n': n += (size_t)snprintf(buf + n, 3, "\\n"); break;
        case '\t': n += (size_t)snprintf(buf + n, 3, "\\t"); break;
        case '\r': n += (size_t)snprintf(buf + n, 3, "\\r"); break;
        default:
            if (control_char_p(c))
                n += (size_t)snprintf(buf + n, 8, "\\x%x;", c);
            else
                n += utf8_encode(c, buf + n);
        }
        if (n + 8 > sizeof buf) { /* the write may move the string: it is re-read above */
            port_write(vs[pslot], buf, n);
            n = 0;
        }
    }
    port_write(vs[pslot], buf, n);
    port_puts(vs[pslot], "\"");
}

/* Prints vs[vslot] to vs[pslot]. */
static void print(size_t vslot, size_t pslot, int display)
{
    stack_check();
    value v = vs[vslot];
    char buf[64];
    if (number_p(v)) {
        value s = number_to_string(v, 10);
        port_write_string(vs[pslot], s, 0, STRING_LEN(s));
        return;
    }
    if (CHAR_P(v)) {
        uint32_t c = CHAR_CODE(v);
        if (display) {
            write_char_to(vs[pslot], c);
            return;
        }
        const char *name = char_name(c);
        if (name) {
            port_puts(vs[pslot], "#\\");
            port_puts(vs[pslot], name);
        } else if (control_char_p(c)) {
            snprintf(buf, sizeof buf, "#\\x%x", c);
            port_puts(vs[pslot], buf);
        } else {
            port_puts(vs[pslot], "#\\");
            write_char_to(vs[pslot], c);
        }
        return;
    }
    switch (v) {
    case FALSE_V: port_puts(vs[pslot], "#f"); return;
    case TRUE_V: port_puts(vs[pslot], "#t"); return;
    case NIL: port_puts(vs[pslot], "()"); return;
    case UNSPEC: port_puts(vs[pslot], "#<unspecified>"); return;
    case EOF_V: port_puts(vs[pslot], "#<eof>"); return;
    case DEFAULT_V: port_puts(vs[pslot], "#<default>"); return;
    case UNASSIGNED: port_puts(vs[pslot], "#<unassigned>"); return;
    }
    switch (OBJ_TYPE(v)) {
    case T_STRING:
        if (display)
            port_write_string(vs[pslot], v, 0, STRING_LEN(v));
        else
            write_string_literal(vslot, pslot);
        return;
    case T_SYMBOL: port_write(vs[pslot], SYM(v)->name, SYM(v)->len); return;
    case T_PAIR: {
        if (circular_list(v)) {
            port_puts(vs[pslot], "#<circular list>");
            return;
        }
        port_puts(vs[pslot], "(");
        size_t cur = vsp;
        vs_push(v);
        bool first = true;
        while (PAIR_P(vs[cur])) {
            if (!first)
                port_puts(vs[pslot], " ");
            first = false;
            vs_push(CAR(vs[cur]));
            print(vsp - 1, pslot, display);
            vsp--;
            vs[cur] = CDR(vs[cur]);
        }
        if (vs[cur] != NIL) {
            port_puts(vs[pslot], " . ");
            print(cur, pslot, display);
        }
        vsp = cur;
        port_puts(vs[pslot], ")");
        return;
    }
    case T_VECTOR:
    case T_VALUES: {
        port_puts(vs[pslot], OBJ_TYPE(v) == T_VECTOR ? "#(" : "#<values");
        for (size_t i = 0; i < VLEN(vs[vslot]); i++) {
            if (i || OBJ_TYPE(v) == T_VALUES)
                port_puts(vs[pslot], " ");
            vs_push(VREF(vs[vslot], i));
            print(vsp - 1, pslot, display);
            vsp--;
        }
        port_puts(vs[pslot], OBJ_TYPE(v) == T_VECTOR ? ")" : ">");
        return;
    }
    case T_BYTEVECTOR:
        port_puts(vs[pslot], "#u8(");
        for (size_t i = 0; i < HDR_LEN(vs[vslot]); i++) {
            snprintf(buf, sizeof buf, i ? " %u" : "%u", BV_BYTES(vs[vslot])[i]);
            port_puts(vs[pslot], buf);
        }
        port_puts(vs[pslot], ")");
        return;
    case T_CLOSURE: {
        value name = CLOSURE_LAMBDA(v)->lam->name;
        port_puts(vs[pslot], "#<procedure");
        if (SYMBOL_P(name)) {
            port_puts(vs[pslot], " ");
            port_write(vs[pslot], SYM(name)->name, SYM(name)->len);
        }
        port_puts(vs[pslot], ">");
        return;
    }
    case T_PRIMITIVE:
        snprintf(buf, sizeof buf, "#<procedure %s>", PRIM(v)->name);
        port_puts(vs[pslot], buf);
        return;
    case T_RECORD_PROC:
    case T_CASE_LAMBDA:
    case T_CONTINUATION:
    case T_GUARDIAN:
    case T_PARAMETER: port_puts(vs[pslot], "#<procedure>"); return;
    case T_HASH_TABLE: port_puts(vs[pslot], "#<hash-table>"); return;
    case T_EPHEMERON: port_puts(vs[pslot], "#<ephemeron>"); return;
    case T_THREAD:
    case T_MUTEX:
    case T_CONDVAR: {
        const char *kind = OBJ_TYPE(v) == T_THREAD  ? "#<thread"
                           : OBJ_TYPE(v) == T_MUTEX ? "#<mutex"
                                                    : "#<condition-variable";
        port_puts(vs[pslot], kind);
        if (OBJ(vs[vslot])[1] != UNSPEC) { /* the name */
            port_puts(vs[pslot], " ");
            vs_push(OBJ(vs[vslot])[1]);
            print(vsp - 1, pslot, 0);
            vsp--;
        }
        port_puts(vs[pslot], ">");
        return;
    }
    case T_RECORD: {
        value name = OBJ(RECORD_TYPE_OF(v))[1];
        port_puts(vs[pslot], "#<");
        port_write(vs[pslot], SYM(name)->name, SYM(name)->len);
        for (size_t i = 0; i < HDR_LEN(vs[vslot]); i++) {
            port_puts(vs[pslot], " ");
            vs_push(RECORD_FIELD(vs[vslot], i));
            print(vsp - 1, pslot, 0);
            vsp--;
        }
        port_puts(vs[pslot], ">");
        return;
    }
    case T_RECORD_TYPE:
        port_puts(vs[pslot], "#<record-type ");
        port_write(vs[pslot], SYM(OBJ(v)[1])->name, SYM(OBJ(v)[1])->len);
        port_puts(vs[pslot], ">");
        return;
    case T_ERROR: {
        port_puts(vs[pslot], "#<error ");
        vs_push(ERR_MESSAGE(v));
        print(vsp - 1, pslot, 0);
        vsp--;
        for (value l = ERR_IRRITANTS(vs[vslot]); PAIR_P(l); l = CDR(l)) {
            vs_push(l);
            port_puts(vs[pslot], " ");
            vs_push(CAR(vs[vsp - 1]));
            print(vsp - 1, pslot, 0);
            vsp--;
            l = vs[--vsp];
        }
        port_puts(vs[pslot], ">");
        return;
    }
    case T_PORT: port_puts(vs[pslot], "#<port>"); return;
    case T_PROMISE: port_puts(vs[pslot], "#<promise>"); return;
    case T_FRAME: port_puts(vs[pslot], "#<frame>"); return;
    default: snprintf(buf, sizeof buf, "#<object type %u>", OBJ_TYPE(v)); port_puts(vs[pslot], buf);
    }
}

void write_value(value port, value v, int display)
{
    size_t base = vsp;
    vs_push(port);
    vs_push(v);
    print(base + 1, base, display);
    vsp = base;
}
