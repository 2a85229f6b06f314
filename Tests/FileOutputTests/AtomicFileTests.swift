import FileOutput
import Foundation
import TestSupport
import Testing

@Suite struct AtomicFileTests {
    @Test func replacesTheWholeFileAndLeavesNoTemporary() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.json").path
        try AtomicFile.write("old content that is longer", to: path)
        try AtomicFile.write("new", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.json"])
    }

    @Test func aFailureInTheMiddleKeepsTheOldFile() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.bin").path
        try AtomicFile.write([1, 2, 3], to: path)
        #expect(throws: AtomicFile.WriteError.self) {
            try AtomicFile.write(to: path) { (descriptor: Int32) throws(AtomicFile.WriteError) in
                try AtomicFile.writeAll(descriptor, [9, 9])
                throw AtomicFile.WriteError(reason: "stopped half way")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.bin"])
    }

    @Test func aMissingFolderIsNamedInTheError() {
        do {
            try AtomicFile.write("x", to: "/nonexistent-folder-of-fairtune/out.txt")
            Issue.record("writing into a missing folder succeeded")
        } catch {
            #expect(error.reason.contains("/nonexistent-folder-of-fairtune"))
        }
    }
}
