// Closes an HDF5 dataset after the process began to exit, as a batch-loader thread does when a
// run stops (divergence, error) while it still holds shards:
//   fairtune-hdf5-exit-check FILE.h5 DATASET
// Must exit 0 with nothing on standard error (no "H5Dclose(): not a dataset ID" stack).
import CHDF5
import Foundation
import HDF5IO

nonisolated(unsafe) var held: HDF5Dataset?

// atexit handlers run in reverse order of registration: registered before HDF5 starts, this one
// runs after any exit-time shutdown of the library, like a thread releasing its datasets late.
// HDF5's own error printing is turned back on, so a failed close shows as it did in the field.
atexit {
    H5Eset_auto2(shim_H5E_DEFAULT(), unsafeBitCast(H5Eprint2 as @convention(c) (hid_t, UnsafeMutablePointer<FILE>?) -> herr_t,
                                                     to: H5E_auto2_t.self), nil)
    held = nil
}
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: fairtune-hdf5-exit-check FILE.h5 DATASET\n".utf8))
    exit(2)
}
do {
    held = try HDF5File(path: arguments[1]).dataset(arguments[2])
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
exit(0)
