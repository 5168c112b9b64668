/* gcvm collector: the mark of the library's public functions. libgcvm-gc.so is built
 * with hidden visibility, so a function is exported only if its declaration in a public
 * header carries GCVM_GC_API; the collector's internal functions stay internal. */
#ifndef GCVM_GC_EXPORT_H
#define GCVM_GC_EXPORT_H

#define GCVM_GC_API __attribute__((visibility("default")))

#endif
