import Foundation
import HDF5IO
import XCTest

/// A thread-safe HDF5 keeps its "print errors" setting per thread: failures on any thread must
/// become `HDF5Error`s without HDF5 printing its error stack to stderr.
final class HDF5ThreadErrorTests: XCTestCase {
    /// Runs `body` on a new thread with fd 2 redirected to a pipe; returns what was written there.
    private func stderrOutput(onNewThread body: @escaping @Sendable () -> Void) -> String {
        let pipe = Pipe()
        fflush(nil)
        let saved = dup(2)
        dup2(pipe.fileHandleForWriting.fileDescriptor, 2)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.start()
        done.wait()
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        pipe.fileHandleForWriting.closeFile()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    func testFailuresOnAnotherThreadPrintNothing() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hdf5io-thread-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.createDataset("values", of: Int64.self, shape: [4]).write([1, 2, 3, 4] as [Int64])
        }
        final class Outcome: @unchecked Sendable { var messages: [String] = [] }
        let outcome = Outcome()
        let printed = stderrOutput {
            do {
                _ = try HDF5File(path: path + ".missing")
            } catch {
                outcome.messages.append("\(error)")
            }
            do {
                let file = try HDF5File(path: path)
                var buffer = [Int64](repeating: 0, count: 2)
                try buffer.withUnsafeMutableBufferPointer { try file.dataset("values").read(into: $0, offset: [3], count: [2]) }
            } catch {
                outcome.messages.append("\(error)")
            }
            do {
                _ = try HDF5File(path: path).readStringAttribute("absent")
            } catch {
                outcome.messages.append("\(error)")
            }
        }
        XCTAssertEqual(printed, "", "HDF5 printed on a worker thread")
        XCTAssertEqual(outcome.messages.count, 3, "\(outcome.messages)")
        XCTAssertTrue(outcome.messages[0].contains("cannot open as HDF5"), outcome.messages[0])
        XCTAssertTrue(outcome.messages[1].contains("outside its shape [4]"), outcome.messages[1])
    }
}
