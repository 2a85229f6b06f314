import Foundation
import Testing
@testable import SafeTensors

struct WritingTests {
    /// Our writer reproduces `safetensors.numpy.save_file` byte for byte: the Python-written file
    /// is read, its tensors are written again, and the bytes must be identical.
    @Test func writerMatchesPythonBytes() throws {
        let path = FixturePaths.path("written_by_python.safetensors")
        let reference = try SafeTensorsFile(path: path)
        var writer = SafeTensorsWriter(metadata: reference.metadata)
        // Add in reverse file order so the writer's own ordering is what is tested.
        for tensor in reference.tensors.reversed() {
            switch tensor.dtype {
            case .f32: writer.add(tensor.name, shape: tensor.shape, floats: try reference.floats(tensor.name))
            case .i64: writer.add(tensor.name, shape: tensor.shape, int64s: try reference.int64s(tensor.name))
            default: Issue.record("unexpected dtype \(tensor.dtype) in \(path)")
            }
        }
        let expected = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(writer.serialized() == expected)

        let folder = try FixturePaths.makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("copy.safetensors").path
        try writer.write(to: output)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: output))) == expected)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["copy.safetensors"],
                "the temporary file must be renamed away")
    }

    @Test func roundTripWithEscapedMetadataAndPointerInput() throws {
        let folder = try FixturePaths.makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("round.safetensors").path
        let metadata = ["quote\"back\\slash": "line\nfeed\ttab\u{01}", "unicode": "é✓𝄞", "a": ""]
        var writer = SafeTensorsWriter(metadata: metadata)
        let values: [Float] = [1.5, -0.0, .infinity, Float(bitPattern: 0x0002_3456), 7, 8]  // includes a subnormal
        values.withUnsafeBufferPointer { writer.add("view", shape: [3, 2], floats: $0) }
        writer.add("scalar", shape: [], floats: [42])
        writer.add("empty", shape: [0, 4], floats: [])
        writer.add("ids", shape: [2], int64s: [Int64.min, 5])
        try writer.write(to: path)

        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == metadata)
        #expect(file.tensors.map(\.name) == ["ids", "empty", "scalar", "view"])
        #expect(try file.floats("view").map(\.bitPattern) == values.map(\.bitPattern))
        #expect(try file.floats("scalar") == [42])
        #expect(file.info("scalar")?.shape == [])
        #expect(try file.floats("empty").isEmpty)
        #expect(file.info("empty")?.shape == [0, 4])
        #expect(try file.int64s("ids") == [Int64.min, 5])

        // Writing again replaces the file as a whole.
        var second = SafeTensorsWriter()
        second.add("only", shape: [1], floats: [2])
        try second.write(to: path)
        let replaced = try SafeTensorsFile(path: path)
        #expect(replaced.tensors.map(\.name) == ["only"])
        #expect(replaced.metadata.isEmpty)
    }

    @Test func writingIntoAMissingFolderFailsCleanly() throws {
        let folder = try FixturePaths.makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("absent/out.safetensors").path
        var writer = SafeTensorsWriter()
        writer.add("x", shape: [1], floats: [1])
        #expect {
            try writer.write(to: path)
        } throws: { error in
            guard case let .cannotWrite(file, reason)? = error as? SafeTensorsError else { return false }
            return file == path && reason.contains("No such file or directory")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
