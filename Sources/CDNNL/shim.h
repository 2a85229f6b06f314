#ifndef CDNNL_SHIM_H
#define CDNNL_SHIM_H
/* oneDNN's C API (Debian's libdnnl-dev 2.6, OpenMP threading); matmul primitives only. */
#include <dnnl.h>
#endif
