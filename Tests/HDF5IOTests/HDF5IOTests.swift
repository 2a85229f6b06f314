import Foundation
import HDF5IO
import TestSupport
import Testing

/// The value the fixture script stores at image i, row y, column x, channel c.
private func pixel(_ i: Int, _ y: Int, _ x: Int, _ c: Int) -> UInt8 { UInt8((i * 48 + y * 12 + x * 3 + c) % 256) }

@Suite struct HDF5ReadTests {
    let path = TestSupport.fixtures("hdf5").appendingPathComponent("h5py-written.h5").path

    @Test func readsWholeDatasetsWrittenByH5py() throws {
        let file = try HDF5File(path: path)
        let images = try file.dataset("images")
        #expect(images.shape == [5, 4, 4, 3])
        #expect(images.elementTypeName == "uint8")
        #expect(images.chunkShape == [1, 4, 4, 3])
        let values = try images.read(as: UInt8.self)
        var expected: [UInt8] = []
        for i in 0..<5 { for y in 0..<4 { for x in 0..<4 { for c in 0..<3 { expected.append(pixel(i, y, x, c)) } } } }
        #expect(values == expected)
        #expect(try file.dataset("labels").read(as: Int64.self) == [0, 1, 0, 1, 0])
        #expect(try file.dataset("features").read(as: Float.self) == (0..<12).map { Float($0) * 0.5 })
        #expect(try file.dataset("scores").read(as: Double.self).count == 7)
    }

    @Test func readsHyperslabs() throws {
        let file = try HDF5File(path: path)
        let images = try file.dataset("images")
        let rows = try images.read(as: UInt8.self, rows: 2..<4)
        #expect(rows.count == 2 * 48)
        #expect(rows[0] == pixel(2, 0, 0, 0) && rows[48 + 47] == pixel(3, 3, 3, 2))
        // A window inside one image: image 1, rows 1-2, columns 2-3, channel 1.
        let window = try images.read(as: UInt8.self, offset: [1, 1, 2, 1], count: [1, 2, 2, 1])
        #expect(window == [pixel(1, 1, 2, 1), pixel(1, 1, 3, 1), pixel(1, 2, 2, 1), pixel(1, 2, 3, 1)])
        var buffer = [Float](repeating: -1, count: 4)
        try buffer.withUnsafeMutableBufferPointer { b in
            try file.dataset("features").read(into: b, offset: [1, 0], count: [1, 4])
        }
        #expect(buffer == [2, 2.5, 3, 3.5])
    }

    @Test func readsStringsAndAttributes() throws {
        let file = try HDF5File(path: path)
        #expect(try file.readStringAttribute("format") == "fairtune-test")
        #expect(try file.readAttribute("format_version", as: Int64.self) == [1])
        let sex = try file.dataset("attrs/sex")
        #expect(try sex.readStringsAttribute("groups") == ["F", "M"])
        #expect(try sex.read(as: Int64.self) == [0, 1, 1, 0, -1])
        #expect(try file.dataset("ids/sample").readStrings() == (0..<5).map { "sample-\($0)" })
        #expect(try file.dataset("ids/fixed").readStrings() == ["ab", "cde", "", "f", "ghijklmn"])
        #expect(try file.group("/").memberNames() == ["attrs", "features", "ids", "images", "labels", "scores"])
    }

    @Test func typedErrorsForWrongRequests() throws {
        let file = try HDF5File(path: path)
        #expect(throws: HDF5Error.missingObject(file: path, path: "nope")) { try file.dataset("nope") }
        #expect(throws: HDF5Error.missingObject(file: path, path: "attrs/age")) { try file.dataset("attrs/age") }
        #expect(throws: HDF5Error.wrongElementType(file: path, path: "labels", expected: "float32", found: "int64")) {
            try file.dataset("labels").read(as: Float.self)
        }
        #expect(throws: HDF5Error.outOfBounds(file: path, path: "labels", offset: [3], count: [4], shape: [5])) {
            try file.dataset("labels").read(as: Int64.self, rows: 3..<7)
        }
        #expect(throws: HDF5Error.wrongRank(file: path, path: "images", expected: 1, shape: [5, 4, 4, 3])) {
            try file.dataset("images").requireRank(1)
        }
        #expect(throws: HDF5Error.missingObject(file: path, path: "/@absent")) { try file.readStringAttribute("absent") }
    }
}

@Suite struct HDF5DamagedFileTests {
    @Test func missingFile() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("absent.h5").path
        do {
            _ = try HDF5File(path: path)
            Issue.record("opening a missing file succeeded")
        } catch {
            guard case let .cannotOpen(file, _) = error else { Issue.record("got \(error)"); return }
            #expect(file == path)
        }
    }

    @Test func corruptFileIsNotHDF5() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("corrupt.h5").path
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(to: URL(fileURLWithPath: path))
        do {
            _ = try HDF5File(path: path)
            Issue.record("opening a corrupt file succeeded")
        } catch {
            guard case let .cannotOpen(file, reason) = error else { Issue.record("got \(error)"); return }
            #expect(file == path)
            #expect(reason.contains("signature"), "reason should say why: \(reason)")
            #expect(error.description.contains(path))
        }
    }

    @Test func truncatedFileGivesTypedError() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = TestSupport.fixtures("hdf5").appendingPathComponent("h5py-written.h5")
        let bytes = try Data(contentsOf: source)
        // Cut at several places: inside the superblock, inside metadata, inside the chunk data.
        for cut in [100, bytes.count / 3, bytes.count - 200] {
            let path = dir.appendingPathComponent("truncated-\(cut).h5").path
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            do {
                let file = try HDF5File(path: path)
                _ = try file.dataset("images").read(as: UInt8.self)
                _ = try file.dataset("labels").read(as: Int64.self)
                Issue.record("reading a file truncated at \(cut) of \(bytes.count) bytes succeeded")
            } catch {
                switch error {
                case let .cannotOpen(file, _), let .readFailed(file, _, _): #expect(file == path)
                case let .missingObject(file, _): #expect(file == path)
                default: Issue.record("unexpected error for cut \(cut): \(error)")
                }
            }
        }
    }
}

@Suite struct HDF5WriteTests {
    @Test func roundTripOfEveryElementType() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("round.h5").path
        do {
            let file = try HDF5File(path: path, mode: .create)
            let images = try file.createDataset("images", of: UInt8.self, shape: [3, 2, 2, 3], chunk: [1, 2, 2, 3], deflateLevel: 4)
            try images.write((0..<36).map { UInt8($0 * 7 % 256) })
            try file.createDataset("labels", of: Int64.self, shape: [3]).write([Int64(0), 1, -5])
            try file.createDataset("nested/deep/x", of: Float.self, shape: [2, 2]).write([Float(1.5), -2, 3, .infinity])
            try file.createDataset("d", of: Double.self, shape: [2]).write([Double.pi, -0.0])
            try file.createDataset("i32", of: Int32.self, shape: [1]).write([Int32.min])
            let ids = try file.createStringDataset("ids/sample", values: ["a", "ünïcode", ""])
            try ids.writeAttribute("note", string: "three ids")
            try file.writeAttribute("groups", strings: ["F", "M"])
            try file.writeAttribute("version", values: [Int64(3)])
            try file.writeAttribute("version", values: [Int64(4)])   // replaces
            try file.flush()
        }
        let file = try HDF5File(path: path)
        #expect(try file.dataset("images").read(as: UInt8.self) == (0..<36).map { UInt8($0 * 7 % 256) })
        #expect(try file.dataset("labels").read(as: Int64.self) == [0, 1, -5])
        #expect(try file.dataset("nested/deep/x").read(as: Float.self) == [1.5, -2, 3, .infinity])
        #expect(try file.dataset("d").read(as: Double.self) == [Double.pi, -0.0])
        #expect(try file.dataset("i32").read(as: Int32.self) == [Int32.min])
        #expect(try file.dataset("ids/sample").readStrings() == ["a", "ünïcode", ""])
        #expect(try file.dataset("ids/sample").readStringAttribute("note") == "three ids")
        #expect(try file.readStringsAttribute("groups") == ["F", "M"])
        #expect(try file.readAttribute("version", as: Int64.self) == [4])
    }

    @Test func growableDatasetAndHyperslabWrites() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("grow.h5").path
        let file = try HDF5File(path: path, mode: .create)
        let d = try file.createDataset("rows", of: Float.self, shape: [0, 3], chunk: [4, 3], growable: true)
        for r in 0..<5 {
            try d.resize(to: [r + 1, 3])
            try d.write([Float(r), Float(r) + 0.25, Float(r) + 0.5], offset: [r, 0], count: [1, 3])
        }
        #expect(d.shape == [5, 3])
        #expect(try d.read(as: Float.self, rows: 4..<5) == [4, 4.25, 4.5])
        #expect(throws: HDF5Error.sizeMismatch(file: path, path: "rows", expected: 3, given: 2)) {
            try d.write([Float(1), 2], offset: [0, 0], count: [1, 3])
        }
    }

    /// A child process started while a file is open (MPI's daemons, a shell) inherits its
    /// descriptor; the file must still open again once this process closed it, so no flock() lock
    /// may stay behind with the child.
    @Test func reopensWhileAChildHoldsAnInheritedDescriptor() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("inherited.h5").path
        var child: pid_t = 0
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.createDataset("x", of: Int64.self, shape: [1]).write([Int64(7)])
            // posix_spawn without file actions: the child inherits every descriptor, as fork does.
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("5"), nil]
            defer { argv.forEach { free($0) } }
            #expect(posix_spawn(&child, "/bin/sleep", nil, nil, argv, environ) == 0)
        }
        defer { kill(child, SIGKILL); var status: Int32 = 0; waitpid(child, &status, 0) }
        #expect(try HDF5File(path: path).dataset("x").read(as: Int64.self) == [7])
        #expect(try HDF5File(path: path, mode: .readWrite).dataset("x").read(as: Int64.self) == [7])
    }

    /// Writes a file for the h5py interop check (Tests/python/test_hdf5_interop.py) when
    /// FAIRTUNE_INTEROP_DIR is set, as `make test` does.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FAIRTUNE_INTEROP_DIR"] != nil,
                   "FAIRTUNE_INTEROP_DIR is not set (scripts/test.sh sets it for the h5py check)"))
    func writesFileForH5py() throws {
        let dir = try #require(ProcessInfo.processInfo.environment["FAIRTUNE_INTEROP_DIR"])
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/swift-written.h5"
        let file = try HDF5File(path: path, mode: .create)
        try file.writeAttribute("format", string: "fairtune-test")
        try file.writeAttribute("format_version", values: [Int64(1)])
        let images = try file.createDataset("images", of: UInt8.self, shape: [4, 3, 2, 3], chunk: [1, 3, 2, 3], deflateLevel: 4)
        try images.write((0..<72).map { UInt8(($0 * 11) % 256) })
        try file.createDataset("labels", of: Int64.self, shape: [4]).write([Int64(1), 0, 1, 1])
        let groups = try file.createDataset("attrs/sex", of: Int64.self, shape: [4])
        try groups.write([Int64(0), 1, -1, 1])
        try groups.writeAttribute("groups", strings: ["F", "M"])
        try file.createStringDataset("ids/sample", values: ["s0", "s1", "s2", "ünï"])
        try file.createDataset("features", of: Float.self, shape: [2, 3]).write([Float(0.5), 1, 1.5, 2, 2.5, 3])
        try file.createDataset("scores", of: Double.self, shape: [2]).write([0.125, -1e300])
        try file.flush()
    }
}

/// Only regular files are opened: HDF5 itself would block on a FIFO until a writer appears.
@Suite struct HDF5SpecialFileTests {
    @Test func aFIFOADirectoryAndALinkLoopAreRefusedWithoutBlocking() throws {
        let dir = try TestSupport.makeTemporaryDirectory("HDF5IOTests")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("shard.h5").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let loop = dir.appendingPathComponent("loop.h5").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        let cases = [(fifo, "FIFO"), (dir.path, "directory"), (loop, "loop of symbolic links")]
        for (path, words) in cases {
            #expect {
                _ = try HDF5File(path: path)
            } throws: { error in
                guard case let .cannotOpen(file, reason)? = error as? HDF5Error else { return false }
                return file == path && reason.contains(words)
            }
        }
    }
}

/// A dataset released after the process began to exit (a loader thread outliving a stopped run)
/// closes quietly: HDF5 is not shut down at exit, so the handle is still valid.
@Suite struct HDF5ExitTests {
    static let helper = TestSupport.builtExecutable("fairtune-hdf5-exit-check")

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: helper.path), "fairtune-hdf5-exit-check is not built"))
    func aDatasetClosedDuringExitPrintsNothing() throws {
        let shard = TestSupport.fixtures("data").appendingPathComponent("tiny/train/shard-00000.h5").path
        let result = try TestSupport.run(Self.helper, [shard, "images"])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }
}
