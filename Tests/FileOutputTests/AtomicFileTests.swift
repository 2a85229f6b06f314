import FileOutput
import Foundation
import TestSupport
import Testing

@Suite struct AtomicFileTests {
    /// A temporary left by a writer killed before its rename (a dead process of this host) is
    /// removed; a live process's, another host's and other hidden files are not.
    @Test func removesOnlyTheTemporariesOfDeadWritersOfThisHost() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let me = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .replacingOccurrences(of: "-", with: "_")
        let names = [".checkpoint.safetensors.tmp-\(me)-\(dead.processIdentifier)-7",
                     ".config.json.tmp-\(me)-\(ProcessInfo.processInfo.processIdentifier)-8",
                     ".result.json.tmp-other_node-\(dead.processIdentifier)-9", ".hidden", "checkpoint.safetensors"]
        for name in names { try "x".write(toFile: dir.path + "/" + name, atomically: false, encoding: .utf8) }
        #expect(AtomicFile.removeAbandonedTemporaries(in: dir.path) == [names[0]])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == Set(names.dropFirst()))
    }

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
