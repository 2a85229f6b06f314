#ifndef CMPI_SHIM_H
#define CMPI_SHIM_H
#include <mpi.h>

/* Every MPI handle goes through these functions, so Swift code never depends on what a handle is:
   pointers in Open MPI (macros like ((MPI_Comm) &ompi_mpi_comm_world), which Swift cannot import),
   integers in MPICH, Cray MPICH, Intel MPI and MVAPICH (casts of constants). Swift uses the
   MPI_Comm, MPI_Datatype, MPI_Op and MPI_Errhandler typedefs only by name. */
static inline MPI_Comm     shim_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype shim_MPI_FLOAT(void)      { return MPI_FLOAT; }
static inline MPI_Datatype shim_MPI_DOUBLE(void)     { return MPI_DOUBLE; }
static inline MPI_Datatype shim_MPI_INT(void)        { return MPI_INT; }
static inline MPI_Datatype shim_MPI_INT64_T(void)    { return MPI_INT64_T; }
static inline MPI_Datatype shim_MPI_BYTE(void)       { return MPI_BYTE; }
static inline MPI_Op       shim_MPI_SUM(void)        { return MPI_SUM; }
static inline MPI_Op       shim_MPI_MAX(void)        { return MPI_MAX; }
static inline MPI_Op       shim_MPI_MIN(void)        { return MPI_MIN; }
static inline void *       shim_MPI_IN_PLACE(void)   { return MPI_IN_PLACE; }
static inline int          shim_MPI_SUCCESS(void)    { return MPI_SUCCESS; }
static inline MPI_Errhandler shim_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
#endif
