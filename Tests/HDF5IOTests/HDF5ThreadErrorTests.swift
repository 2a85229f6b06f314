import Foundation
import HDF5IO
import TestSupport
import Testing

/// A thread-safe HDF5 keeps its "print errors" setting per thread: failures on any thread must
/// become `HDF5Error`s without HDF5 printing its error stack to stderr. The failures run in the
/// helper process, whose standard error nothing else shares (tests here run in parallel).
@Suite struct HDF5ThreadErrorTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: HDF5ExitTests.helper.path),
                   "fairtune-hdf5-exit-check is not built"))
    func failuresOnAnotherThreadPrintNothing() throws {
        let folder = try TestSupport.makeTemporaryDirectory("hdf5io-thread")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("values.h5").path
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.createDataset("values", of: Int64.self, shape: [4]).write([1, 2, 3, 4] as [Int64])
        }
        let result = try TestSupport.run(HDF5ExitTests.helper, ["--worker-thread", path])
        #expect(result.status == 0)
        #expect(result.stderr == "", "HDF5 printed on a worker thread")
        let messages = result.stdout.split(separator: "\n").map(String.init)
        try #require(messages.count == 3, "\(messages)")
        #expect(messages[0].contains("cannot open as HDF5"), "\(messages[0])")
        #expect(messages[1].contains("outside its shape [4]"), "\(messages[1])")
    }
}
