/* Ports: what the I/O primitives and the printer share (ports.c). */
#ifndef GCVM_SCHEME_PORTS_H
#define GCVM_SCHEME_PORTS_H

#include <stdlib.h>

#include "scheme.h"

enum port_flag { PORT_INPUT = 1, PORT_OUTPUT = 2, PORT_STRING = 4, PORT_CLOSED = 8 };

unsigned port_flags(value p);
void port_close(value p);
/* A string output port's text so far, as a new string. */
value port_output_string(value p);
value port_name(value p);
/* Raises a file error: "WHO: cannot open the file: <errno's text>" with the name. */
__attribute__((noreturn)) void file_error(const char *who, value name);
/* argv[argi] when given, else the current port runtime_roots[root]; raises an error unless
 * it is an open port with the flag need (PORT_INPUT or PORT_OUTPUT). */
value port_argument(int root, int argc, value *argv, int argi, const char *who, unsigned need);

#endif
