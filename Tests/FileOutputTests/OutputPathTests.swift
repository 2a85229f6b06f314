import FileOutput
import Foundation
import TestSupport
import Testing

@Suite struct OutputPathTests {
    /// A folder holding `input.bin`, a symbolic link to it, a hard link to it and a linked folder.
    private func makeFolder() throws -> URL {
        let dir = try TestSupport.makeTemporaryDirectory()
        let input = dir.appendingPathComponent("input.bin").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: input))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("soft.bin").path, withDestinationPath: input)
        try FileManager.default.linkItem(atPath: input, toPath: dir.appendingPathComponent("hard.bin").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("alias").path, withDestinationPath: dir.path)
        return dir
    }

    @Test func anOutputThatIsTheInputThroughAnyLinkIsRefused() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input.bin").path
        let protected = [OutputPath.Protected(role: "--weights", path: input)]
        for name in ["input.bin", "soft.bin", "hard.bin", "alias/input.bin", "alias/./soft.bin"] {
            let output = dir.path + "/" + name
            #expect(throws: OutputPath.Conflict.self, "\(name)") {
                try OutputPath.check(output: output, protected: protected, option: "--out")
            }
        }
    }

    @Test func theMessageNamesTheOptionTheOutputAndTheProtectedFile() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input.bin").path
        let output = dir.appendingPathComponent("soft.bin").path
        #expect {
            try OutputPath.check(output: output, protected: [.init(role: "--predictions", path: input)], option: "--out")
        } throws: { error in
            let text = "\(error)"
            return text.contains("--out \(output)") && text.contains("--predictions (\(input))") && text.contains("Choose another --out")
        }
    }

    @Test func otherOutputsPass() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let protected = [OutputPath.Protected(role: "--weights", path: dir.appendingPathComponent("input.bin").path),
                         OutputPath.Protected(role: "--labels", path: dir.appendingPathComponent("missing.bin").path)]
        for name in ["new.bin", "alias/new.bin", "nested/new.bin"] {
            try OutputPath.check(output: dir.appendingPathComponent(name).path, protected: protected, option: "--out")
        }
    }
}
