// Two checks that HDF5 prints nothing on standard error, each run in a process of its own so that
// standard error holds this program's output alone:
//
//   fairtune-hdf5-exit-check FILE.h5 DATASET
//     Closes an HDF5 dataset after the process began to exit, as a batch-loader thread does when a
//     run stops (divergence, error) while it still holds shards. Must exit 0 with nothing on
//     standard error (no "H5Dclose(): not a dataset ID" stack).
//
//   fairtune-hdf5-exit-check --worker-thread FILE.h5
//     Makes three HDF5IO calls fail on a new thread (a missing file, a read past the end of the
//     4-element dataset "values", a missing attribute) and prints each error on standard output, one
//     per line. A thread-safe HDF5 keeps its "print errors" setting per thread, so a failure on a
//     worker thread must still print nothing on standard error.
import CHDF5
import Foundation
import HDF5IO

nonisolated(unsafe) var held: HDF5Dataset?

/// Runs the three failing calls on a new thread and prints their errors.
func failOnWorkerThread(_ path: String) {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        do { _ = try HDF5File(path: path + ".missing") } catch { print(error) }
        do {
            let file = try HDF5File(path: path)
            var buffer = [Int64](repeating: 0, count: 2)
            try buffer.withUnsafeMutableBufferPointer { try file.dataset("values").read(into: $0, offset: [3], count: [2]) }
        } catch { print(error) }
        do { _ = try HDF5File(path: path).readStringAttribute("absent") } catch { print(error) }
        done.signal()
    }
    thread.start()
    done.wait()
}

// atexit handlers run in reverse order of registration: registered before HDF5 starts, this one
// runs after any exit-time shutdown of the library, like a thread releasing its datasets late.
// HDF5's own error printing is turned back on, so a failed close shows as it did in the field.
atexit {
    H5Eset_auto2(shim_H5E_DEFAULT(), unsafeBitCast(H5Eprint2 as @convention(c) (hid_t, UnsafeMutablePointer<FILE>?) -> herr_t,
                                                     to: H5E_auto2_t.self), nil)
    held = nil
}
let arguments = CommandLine.arguments
if arguments.count == 3 && arguments[1] == "--worker-thread" {
    failOnWorkerThread(arguments[2])
    exit(0)
}
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: fairtune-hdf5-exit-check FILE.h5 DATASET | --worker-thread FILE.h5\n".utf8))
    exit(2)
}
do {
    held = try HDF5File(path: arguments[1]).dataset(arguments[2])
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
exit(0)
