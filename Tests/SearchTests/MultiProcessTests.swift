import Foundation
import Search
import Testing
import TestSupport

/// Several `fairtune-study-check` worker processes on one journal (the executable is built with the tests).
@Suite struct MultiProcessTests {
    static let checker = TestSupport.fairtuneBinary.deletingLastPathComponent().appendingPathComponent("fairtune-study-check")
    static let built = FileManager.default.isExecutableFile(atPath: checker.path)

    static func start(_ arguments: [String], output: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = checker
        process.arguments = arguments
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func create(_ path: String, wanted: Int, grace: Double) throws {
        let result = try TestSupport.run(checker, ["create", path, String(wanted), String(grace)])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test(.enabled(if: built, "fairtune-study-check is not built"))
    func concurrentWorkersFinishExactlyTheWantedTrials() throws {
        let path = try TestSupport.makeTemporaryDirectory("fairtune-study").appendingPathComponent("study.log").path
        try Self.create(path, wanted: 30, grace: 30)
        let workers = try (0..<6).map { try Self.start(["work", path, "task-\($0)", "--trial-ms", "15"]) }
        for worker in workers { worker.waitUntilExit() }
        #expect(workers.allSatisfy { $0.terminationStatus == 0 })
        let study = try Study(path: path, workerID: "reader")
        #expect(study.trials.count == 30 && study.trials.allSatisfy { $0.state == .complete })
        #expect(study.trials.map(\.number) == Array(0..<30))
        #expect(study.trials.allSatisfy { $0.values == [$0.params.reduce(0) { $0 + $1.value }] })
        #expect(Set(study.trials.compactMap { $0.systemAttribute(Study.Key.worker)?.stringValue }).count > 1)
        // Every line was applied: no torn or lost record.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(study.journal.linesRead == text.filter { $0 == "\n" }.count && study.journal.bytesRead == text.utf8.count)
    }

    @Test(.enabled(if: built, "fairtune-study-check is not built"))
    func aKilledWorkersTrialIsFailedAndRetried() throws {
        let path = try TestSupport.makeTemporaryDirectory("fairtune-study").appendingPathComponent("study.log").path
        try Self.create(path, wanted: 3, grace: 0.5)
        let output = Pipe()
        let holder = try Self.start(["work", path, "task-held", "--hold"], output: output)
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("holding") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let worker = try Self.start(["work", path, "task-next"])
        worker.waitUntilExit()
        #expect(worker.terminationStatus == 0)
        let study = try Study(path: path, workerID: "reader")
        #expect(study.trials[0].state == .fail && study.trials[0].systemAttribute(Study.Key.worker) == .string("task-held"))
        let retry = try #require(study.trials.first { $0.systemAttribute("failed_trial") == .number(0) })
        #expect(retry.state == .complete && retry.params.map(\.value) == study.trials[0].params.map(\.value))
        #expect(study.finishedCount == 3)
    }
}
