#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
/* OpenBLAS's cblas.h also declares openblas_get_corename, openblas_get_config and
   openblas_set_num_threads, which the generic -lblas does not export. */
#include <cblas.h>
#endif
