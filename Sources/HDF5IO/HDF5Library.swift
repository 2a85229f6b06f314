import CHDF5
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide HDF5 set-up and error capture.
enum HDF5Library {
    /// Silences HDF5's own error printing once; failures become `HDF5Error`s instead.
    static let initialized: Bool = {
        // No library shutdown at exit: it would invalidate every handle while batch-loader threads
        // still hold datasets, and their later H5Dclose calls print "not a dataset ID" stacks.
        // Files are closed by their owners; the system releases the rest at exit.
        H5dont_atexit()
        H5open()
        H5Eset_auto2(shim_H5E_DEFAULT(), nil, nil)
        return true
    }()

    /// Marks threads whose HDF5 error printing is already off.
    private static let silencedKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Turns HDF5's error printing off for the calling thread. A thread-safe HDF5 keeps that
    /// setting per thread, so without this a failure on a worker thread (a batch loader reading a
    /// damaged shard) prints HDF5's whole error stack to stderr. Cheap after the first call.
    static func silenceErrorsOnThisThread() {
        _ = initialized
        if pthread_getspecific(silencedKey) == nil {
            H5Eset_auto2(shim_H5E_DEFAULT(), nil, nil)
            pthread_setspecific(silencedKey, UnsafeRawPointer(bitPattern: 1))
        }
    }

    /// The descriptions on HDF5's error stack, outermost first, joined into one line.
    ///
    /// HDF5 keeps a per-thread stack of what failed; the innermost entries say why
    /// ("file signature not found", "truncated file").
    static func lastErrorMessage() -> String {
        final class Collected { var messages: [String] = [] }
        let collected = Collected()
        let walker: H5E_walk2_t = { _, desc, context in
            guard let desc, let context else { return 0 }
            let box = Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue()
            if let text = desc.pointee.desc { box.messages.append(String(cString: text)) }
            return 0
        }
        H5Ewalk2(shim_H5E_DEFAULT(), H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(collected).toOpaque())
        H5Eclear2(shim_H5E_DEFAULT())
        var unique: [String] = []
        for m in collected.messages where !unique.contains(m) { unique.append(m) }
        return unique.isEmpty ? "unknown HDF5 error" : unique.suffix(3).joined(separator: ": ")
    }

    /// The linked HDF5 library version, e.g. `1.10.8`.
    static var version: String {
        _ = initialized
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }
}

/// The linked HDF5 library version, e.g. `1.10.8`.
public var hdf5Version: String { HDF5Library.version }
