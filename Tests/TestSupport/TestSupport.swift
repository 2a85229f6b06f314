import Foundation

/// Helpers shared by the test targets: where the repository and the built binary are, running
/// the binary, temporary folders.
public enum TestSupport {
    /// The repository root (the folder holding Package.swift).
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        preconditionFailure("Package.swift not found above \(#filePath)")
    }()

    /// `Tests/Fixtures/<area>`.
    public static func fixtures(_ area: String) -> URL {
        repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(area)
    }

    /// The `fairtune` binary built with the tests: `$FAIRTUNE_BIN`, or the one next to the test
    /// runner, or `.build/debug/fairtune`.
    public static var fairtuneBinary: URL {
        if let path = ProcessInfo.processInfo.environment["FAIRTUNE_BIN"] { return URL(fileURLWithPath: path) }
        return builtExecutable("fairtune")
    }

    /// An executable product built with the tests (`fairtune`, `fairtune-lock-check`, ...): the one
    /// next to the test runner, or under `.build/debug`.
    public static func builtExecutable(_ name: String) -> URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for dir in [runner.deletingLastPathComponent(), runner.deletingLastPathComponent().deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return repositoryRoot.appendingPathComponent(".build/debug/\(name)")
    }

    /// What a finished process left.
    public struct ProcessResult: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `executable` with `arguments` and waits for it.
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                           currentDirectory: URL? = nil) throws -> ProcessResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting so a chatty child cannot block on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs the built `fairtune` with `arguments`.
    public static func fairtune(_ arguments: [String], environment: [String: String] = [:],
                                currentDirectory: URL? = nil) throws -> ProcessResult {
        try run(fairtuneBinary, arguments, environment: environment, currentDirectory: currentDirectory)
    }

    /// This test process's scratch folder, `fairtune-tests-<pid>` in the system's temporary directory,
    /// removed with everything in it when the process exits, so test runs leave nothing behind.
    static let scratchRoot: URL = {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fairtune-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TestSupport.scratchRoot) }
        return root
    }()

    /// A path that does not exist yet, in this process's scratch folder.
    public static func temporaryPath(_ label: String = "fairtune-test") -> URL {
        scratchRoot.appendingPathComponent("\(label)-\(UUID().uuidString)")
    }

    /// A new empty folder in this process's scratch folder.
    public static func makeTemporaryDirectory(_ label: String = "fairtune-test") throws -> URL {
        let url = temporaryPath(label)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// ‖a − b‖ / ‖b‖, the norm-wise relative error (absolute when b is all zero): the one
    /// tolerance measure of the tests that compare tensors with a reference.
    public static func relativeError<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Double {
        precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
        var diff = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            let d = Double(x) - Double(y)
            diff += d * d
            norm += Double(y) * Double(y)
        }
        return norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
    }
}
