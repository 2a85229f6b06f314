import Foundation
import Search
import Testing
import TestSupport

@Suite struct JournalLockTests {
    static func journal() throws -> String {
        let path = try TestSupport.makeTemporaryDirectory("fairtune-lock").appendingPathComponent("study.log").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        return path
    }

    @Test func symlinkLockPointsAtTheJournalAndReleases() throws {
        let path = try Self.journal()
        let lock = JournalLock(journalPath: path)
        let waited = try lock.acquire()
        #expect(waited < 1)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: lock.lockPath) == "study.log")
        #expect(lock.release())
        #expect(!FileManager.default.fileExists(atPath: lock.lockPath))
        #expect(!lock.release())  // nothing left to release
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        #expect(leftovers == ["study.log"])
    }

    /// A lock whose holder died (its entry never changes) is broken after the grace period, as Optuna 4.3+ does;
    /// each lock style waits for the other's entry (they share the path).
    @Test(arguments: [(JournalLock.Kind.symlink, JournalLock.Kind.exclusiveFile), (.exclusiveFile, .symlink)])
    func staleLockIsBrokenAfterTheGracePeriod(held: JournalLock.Kind, waiter: JournalLock.Kind) throws {
        let path = try Self.journal()
        _ = try JournalLock(journalPath: path, kind: held, gracePeriod: nil).acquire()  // never released: a dead holder
        let lock = JournalLock(journalPath: path, kind: waiter, gracePeriod: 0.3)
        let waited = try lock.acquire()
        #expect(waited >= 0.3 && waited < 3)
        #expect(lock.release())
    }

    /// A dead holder's link to a journal that is gone (replaced) is judged by the link's own mtime, not spun on.
    @Test func danglingStaleLockIsBroken() throws {
        let path = try Self.journal()
        let lock = JournalLock(journalPath: path, gracePeriod: 0.3)
        try FileManager.default.createSymbolicLink(atPath: lock.lockPath, withDestinationPath: "gone.log")
        let waited = try lock.acquire()
        #expect(waited >= 0.3 && waited < 3)
        #expect(lock.release())
    }

    @Test func studyRecordsItsLockWaits() throws {
        let path = try StudyFixtures.create(wanted: 2)
        let study = try Study(path: path, workerID: "w")
        _ = try study.ask(sampler: FixedSampler(values: [1, 0, 1e-4]))
        #expect(study.lockAcquisitions == 1 && study.lockWaitSeconds >= 0)
    }
}
