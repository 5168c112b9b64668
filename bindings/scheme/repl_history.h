/* The REPL's line history, kept across sessions in a file (bindings/scheme/README.md). */
#ifndef GCVM_SCHEME_REPL_HISTORY_H
#define GCVM_SCHEME_REPL_HISTORY_H

/* Loads the history file into libedit's history, if there is one. Does nothing when
 * neither XDG_DATA_HOME nor HOME is set. */
void repl_history_load(void);

/* Writes libedit's history (its last REPL_HISTORY_LINES lines) to the history file,
 * making its directory. A failure is one warning line on stderr; nothing is written, and
 * nothing said, when neither XDG_DATA_HOME nor HOME is set. */
void repl_history_save(void);

enum { REPL_HISTORY_LINES = 1000 };

#endif
