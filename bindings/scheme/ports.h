/* Ports: what the I/O primitives and the printer share (ports.c). */
#ifndef GCVM_SCHEME_PORTS_H
#define GCVM_SCHEME_PORTS_H

#include <stdlib.h>

#include "scheme.h"

enum port_flag { PORT_INPUT = 1, PORT_OUTPUT = 2, PORT_STRING = 4, PORT_CLOSED = 8 };

unsigned port_flags(value p);
void port_close(value p);
/* A string output port's text so far, as a new string (decoded from UTF-8: an invalid
 * byte, which write-u8 can put there, reads as U+FFFD), or its bytes as a bytevector. */
value port_output_string(value p);
value port_output_bytes(value p);
/* The next byte of a port (-1 at the end), taken or only looked at; read-char's
 * port_getc and port_peekc (scheme.h) take whole UTF-8 characters. A string input port
 * over a string has no bytes: an error says so. */
int port_getb(value p);
int port_peekb(value p);
/* For `read`: the unread text of the input port at vs[slot], as UTF-8 in a new malloc'd
 * buffer of *n bytes (NUL-terminated); a file port is first read to its end and becomes a
 * string port over those bytes. port_consume_text then marks the first n bytes of that
 * text as read. */
char *port_unread_text(size_t slot, size_t *n);
void port_consume_text(value p, const char *text, size_t n);
value port_name(value p);
/* Raises a file error: "WHO: cannot open the file: <errno's text>" with the name. */
__attribute__((noreturn)) void file_error(const char *who, value name);
/* argv[argi] when given, else the current port runtime_roots[root]; raises an error unless
 * it is an open port with the flag need (PORT_INPUT or PORT_OUTPUT). */
value port_argument(int root, int argc, value *argv, int argi, const char *who, unsigned need);

#endif
