import Foundation
import RunLock
import TestSupport
import Testing

/// A `fairtune-lock-check` process holding a directory's lock until its standard input closes.
private final class LockHolder {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let error = Pipe()

    init(directory: URL, staleAfter: Double = 600) throws {
        process.executableURL = TestSupport.builtExecutable("fairtune-lock-check")
        process.arguments = [directory.path, String(staleAfter)]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
    }

    /// The first line the process printed ("locked PID"), or nil when it exited first.
    func firstLine() -> String? {
        var bytes: [UInt8] = []
        while true {
            let chunk = output.fileHandleForReading.readData(ofLength: 1)
            guard let byte = chunk.first else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    /// Closes standard input and waits; returns the exit status and standard error.
    func finish() -> (status: Int32, stderr: String) {
        try? input.fileHandleForWriting.close()
        let text = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}

private let helperBuilt = FileManager.default.isExecutableFile(atPath: TestSupport.builtExecutable("fairtune-lock-check").path)

@Suite struct RunDirectoryLockTests {
    @Test(.enabled(if: helperBuilt, "fairtune-lock-check is not built"))
    func aSecondProcessIsRefusedWithTheHolderNamed() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try LockHolder(directory: dir)
        let line = try #require(first.firstLine())
        #expect(line == "locked \(first.process.processIdentifier)")

        let second = try LockHolder(directory: dir)
        let refused = second.finish()
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("process \(first.process.processIdentifier) on host"))
        #expect(refused.stderr.contains(dir.appendingPathComponent(RunDirectoryLock.fileName).path))

        #expect(first.finish().status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(RunDirectoryLock.fileName).path))
        // Released: the next writer gets it.
        let next = try RunDirectoryLock(directory: dir.path)
        next.release()
    }

    @Test(.enabled(if: helperBuilt, "fairtune-lock-check is not built"))
    func aLockLeftByAKilledProcessOnThisHostIsTakenOver() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let holder = try LockHolder(directory: dir)
        _ = try #require(holder.firstLine())
        kill(holder.process.processIdentifier, SIGKILL)
        holder.process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(RunDirectoryLock.fileName).path))

        let lock = try RunDirectoryLock(directory: dir.path)
        #expect(lock.holder.pid == getpid())
        try lock.requireHeld()
        lock.release()
    }

    @Test func aFreshLockOfAnotherHostIsRefusedAndAStaleOneTakenOver() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(RunDirectoryLock.fileName).path
        let record = #"{"host": "node-elsewhere-17", "pid": 4242, "started": "2026-11-30T08:00:00Z", "token": "abc"}"#
        try record.write(toFile: path, atomically: false, encoding: .utf8)

        #expect {
            _ = try RunDirectoryLock(directory: dir.path, staleAfter: 600)
        } throws: { error in
            let text = "\(error)"
            return text.contains("process 4242 on host node-elsewhere-17") && text.contains("started 2026-11-30T08:00:00Z")
                && text.contains(path)
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == record)

        // Not refreshed for longer than the stale interval: provably stale.
        let old = Date().addingTimeInterval(-700)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        let lock = try RunDirectoryLock(directory: dir.path, staleAfter: 600)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains(lock.holder.token))
        lock.release()
    }

    @Test func aLiveLockInThisProcessIsRefusedAndTheRefreshIsVisible() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(RunDirectoryLock.fileName).path
        let lock = try RunDirectoryLock(directory: dir.path, refreshEvery: 0.1)
        #expect(throws: RunDirectoryLockError.self) { _ = try RunDirectoryLock(directory: dir.path) }

        let old = Date().addingTimeInterval(-300)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        Thread.sleep(forTimeInterval: 0.5)
        let modified = try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        #expect(Date().timeIntervalSince(modified) < 2)

        lock.release()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aTakenOverLockIsReportedLost() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(RunDirectoryLock.fileName).path
        let lock = try RunDirectoryLock(directory: dir.path, refreshEvery: 0.1)
        let other = #"{"host": "node-elsewhere-3", "pid": 77, "started": "2026-11-30T09:00:00Z", "token": "f00"}"#
        try other.write(toFile: path, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 0.4)
        #expect(throws: RunDirectoryLockError.self) { try lock.requireHeld() }
        lock.release()
        // Release leaves another holder's file alone.
        #expect(try String(contentsOfFile: path, encoding: .utf8) == other)
    }

    @Test func aMissingDirectoryIsAClearError() throws {
        #expect {
            _ = try RunDirectoryLock(directory: "/nonexistent-fairtune-dir/run")
        } throws: { error in
            "\(error)".contains("/nonexistent-fairtune-dir/run/\(RunDirectoryLock.fileName)")
        }
    }
}

@Suite struct SlurmRequeueTests {
    /// A fresh lock of another host written by `job` in its run `restart`.
    private func writeLock(in dir: URL, job: String, restart: Int) throws {
        let record = #"{"host": "node-elsewhere-5", "pid": 99, "started": "2026-11-30T10:00:00Z", "token": "b0b", "#
            + #""slurm_job": "\#(job)", "slurm_restart": \#(restart)}"#
        try record.write(to: dir.appendingPathComponent(RunDirectoryLock.fileName), atomically: false, encoding: .utf8)
    }

    @Test func aLockOfAnEarlierRunOfTheSameRequeuedJobIsTakenOver() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeLock(in: dir, job: "hpc/4242", restart: 0)
        let requeued = ["SLURM_CLUSTER_NAME": "hpc", "SLURM_JOB_ID": "4242", "SLURM_RESTART_COUNT": "1"]
        let lock = try RunDirectoryLock(directory: dir.path, environment: requeued)
        #expect(lock.holder.slurmJob == "hpc/4242" && lock.holder.slurmRestart == 1)
        lock.release()
    }

    @Test(arguments: [["SLURM_CLUSTER_NAME": "hpc", "SLURM_JOB_ID": "4242"],
                      ["SLURM_CLUSTER_NAME": "hpc", "SLURM_JOB_ID": "4243", "SLURM_RESTART_COUNT": "1"],
                      ["SLURM_CLUSTER_NAME": "other", "SLURM_JOB_ID": "4242", "SLURM_RESTART_COUNT": "1"],
                      [:]])
    func theSameRunAnotherJobOrNoJobIsRefused(environment: [String: String]) throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeLock(in: dir, job: "hpc/4242", restart: 0)
        #expect(throws: RunDirectoryLockError.self) {
            _ = try RunDirectoryLock(directory: dir.path, environment: environment)
        }
    }
}
