import Foundation
import JSON
import Search
import Testing
import TestSupport

/// Returns the same values for every trial (or, given a list per trial number, that trial's).
struct FixedSampler: Sampler {
    var values: [Double]
    func sample(space: [(name: String, distribution: Distribution)], trials: [Trial], directions: [StudyDirection], trialNumber: Int) -> [Double] {
        values
    }
}

/// Prunes when the reported value is below a threshold.
struct ThresholdPruner: Pruner {
    var threshold: Double
    func shouldPrune(trial: Trial, step: Int, trials: [Trial], direction: StudyDirection) -> Bool {
        (trial.intermediateValues[step] ?? 0) < threshold
    }
}

enum StudyFixtures {
    static let space: [(name: String, distribution: Distribution)] = [
        (name: "Mask Idx 0", distribution: .int(low: 0, high: 1, step: 1, log: false)),
        (name: "Mask Idx 1", distribution: .int(low: 0, high: 1, step: 1, log: false)),
        (name: "lr", distribution: .float(low: 1e-5, high: 1e-3, step: nil, log: true)),
    ]

    /// A new study in a new folder; returns the journal's path.
    static func create(wanted: Int, grace: Double = 60, directions: [StudyDirection] = [.maximize],
                       file: String = "study.log") throws -> String {
        let path = try TestSupport.makeTemporaryDirectory("fairtune-study").appendingPathComponent(file).path
        let settings = StudySettings(finishedTrialsWanted: wanted, heartbeatInterval: grace / 2, gracePeriod: grace, searchSpace: space)
        try Study.create(path: path, name: "fair", directions: directions, settings: settings,
                         userAttributes: [(key: "epochs", value: .number(3)), (key: "attributes", value: .array([.string("sex")]))],
                         workerID: "creator")
        return path
    }

    static func trial(_ result: AskResult) throws -> Trial {
        guard case let .trial(trial) = result else { throw StudyError.invalidArgument("expected a trial, got \(result)") }
        return trial
    }
}

@Suite struct StudyTests {
    @Test func createStoresSettingsAndRefusesAnExistingStudy() throws {
        let path = try StudyFixtures.create(wanted: 5, grace: 30)
        let study = try Study(path: path, workerID: "w")
        #expect(study.name == "fair" && study.directions == [.maximize])
        let settings = try study.settings()
        #expect(settings.finishedTrialsWanted == 5 && settings.gracePeriod == 30 && settings.heartbeatInterval == 15)
        #expect(settings.searchSpace.map(\.name) == StudyFixtures.space.map(\.name))
        #expect(settings.searchSpace.map(\.distribution) == StudyFixtures.space.map(\.distribution))
        #expect(study.userAttributes.first { $0.key == "epochs" }?.value == .number(3))
        let again = StudySettings(finishedTrialsWanted: 2, heartbeatInterval: 1, gracePeriod: 2, searchSpace: StudyFixtures.space)
        #expect(throws: StudyError.self) {
            try Study.create(path: path, name: "other", directions: [.minimize], settings: again, workerID: "w")
        }
        let replaced = try Study.create(path: path, name: "other", directions: [.minimize], settings: again, replace: true, workerID: "w")
        let replacedWanted = try replaced.settings().finishedTrialsWanted
        #expect(replaced.name == "other" && replaced.studyID == 0 && replacedWanted == 2)
    }

    @Test func askReportTellWritesOptunasRecords() throws {
        let path = try StudyFixtures.create(wanted: 3)
        let study = try Study(path: path, workerID: "task-1")
        let first = try StudyFixtures.trial(try study.ask(sampler: FixedSampler(values: [1, 0, 3e-4])))
        #expect(first.number == 0 && first.state == .running)
        #expect(first.params.map(\.name) == ["Mask Idx 0", "Mask Idx 1", "lr"] && first.param("lr") == 3e-4)
        #expect(first.systemAttribute(Study.Key.worker) == .string("task-1"))
        #expect(first.systemAttribute(Study.Key.heartbeat)?.stringValue.flatMap(JournalTime.seconds) != nil)
        #expect(try study.report(trialNumber: 0, step: 0, value: 0.6, pruner: ThresholdPruner(threshold: 0.5)) == false)
        #expect(try study.report(trialNumber: 0, step: 1, value: 0.4, pruner: ThresholdPruner(threshold: 0.5)) == true)
        let pruned = try study.tell(trialNumber: 0, state: .pruned)
        #expect(pruned.state == .pruned && pruned.values == [0.4] && pruned.completeText?.hasSuffix("+00:00") == true)
        #expect(throws: StudyError.self) { try study.tell(trialNumber: 0, state: .complete, values: [1]) }

        let second = try StudyFixtures.trial(try study.ask(sampler: FixedSampler(values: [0, 1, 1e-4])))
        try study.setUserAttribute(trialNumber: second.number, key: "auc_gap", value: .number(.infinity))
        #expect(try study.tell(trialNumber: second.number, state: .complete, values: [.nan]).state == .fail)
        let third = try StudyFixtures.trial(try study.ask(sampler: FixedSampler(values: [1, 1, 1e-3])))
        #expect(try study.tell(trialNumber: third.number, state: .complete, values: [0.8]).values == [0.8])
        let fourth = try StudyFixtures.trial(try study.ask(sampler: FixedSampler(values: [0, 0, 1e-5])))
        try study.tell(trialNumber: fourth.number, state: .complete, values: [0.9])
        guard case .complete = try study.ask(sampler: FixedSampler(values: [0, 0, 1e-5])) else { Issue.record("expected complete"); return }
        #expect(study.finishedCount == 3 && study.bestTrial?.number == 3)
        #expect(study.trials.map(\.state) == [.pruned, .fail, .complete, .complete])
        #expect(study.trials[1].userAttribute("auc_gap") == .number(.infinity))
        // A sampler's value outside its distribution is refused before anything is written.
        let fresh = try Study(path: try StudyFixtures.create(wanted: 1), workerID: "w")
        #expect(throws: StudyError.self) { try fresh.ask(sampler: FixedSampler(values: [2, 0, 1e-5])) }
        #expect(fresh.trials.isEmpty)
    }

    @Test func neverHandsOutMoreThanTheWantedTrials() throws {
        let path = try StudyFixtures.create(wanted: 2)
        let a = try Study(path: path, workerID: "a"), b = try Study(path: path, workerID: "b"), c = try Study(path: path, workerID: "c")
        let sampler = FixedSampler(values: [1, 1, 1e-4])
        let ta = try StudyFixtures.trial(try a.ask(sampler: sampler))
        let tb = try StudyFixtures.trial(try b.ask(sampler: sampler))
        #expect(ta.number == 0 && tb.number == 1)
        guard case .wait = try c.ask(sampler: sampler) else { Issue.record("expected wait"); return }
        try a.tell(trialNumber: ta.number, state: .complete, values: [0.5])
        try b.tell(trialNumber: tb.number, state: .fail)
        let tc = try StudyFixtures.trial(try c.ask(sampler: sampler))
        #expect(tc.number == 2)
        try c.tell(trialNumber: tc.number, state: .complete, values: [0.7])
        guard case .complete = try a.ask(sampler: sampler) else { Issue.record("expected complete"); return }
    }

    @Test func refreshReadsOnlyNewCompleteLines() throws {
        let path = try StudyFixtures.create(wanted: 5)
        let writer = try Study(path: path, workerID: "w"), reader = try Study(path: path, workerID: "r")
        let before = reader.journal.bytesRead
        let trial = try StudyFixtures.trial(try writer.ask(sampler: FixedSampler(values: [1, 0, 1e-4])))
        try reader.refresh()
        #expect(reader.trials.count == 1 && reader.journal.bytesRead > before)
        // A writer killed mid-line leaves a torn last line: ignored until it ends with a newline.
        let line = #"{"op_code":7,"worker_id":"x","trial_id":\#(trial.id),"step":5,"intermediate_value":0.25}"#
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(line.prefix(20).utf8))
        let bytesBefore = reader.journal.bytesRead
        try reader.refresh()
        #expect(reader.trials[0].intermediateValues.isEmpty && reader.journal.bytesRead == bytesBefore)
        handle.write(Data((line.dropFirst(20) + "\n").utf8))
        try handle.close()
        try reader.refresh()
        #expect(reader.trials[0].intermediateValues == [5: 0.25])
    }

    @Test func staleTrialIsFailedAndRetriedWithItsParams() throws {
        let path = try StudyFixtures.create(wanted: 1, grace: 0.5)
        let dead = try Study(path: path, workerID: "task-dead"), alive = try Study(path: path, workerID: "task-alive")
        let lost = try StudyFixtures.trial(try dead.ask(sampler: FixedSampler(values: [1, 0, 2e-4])))
        try dead.setUserAttribute(trialNumber: lost.number, key: "run_directory", value: .string("trials/0"))
        guard case .wait = try alive.ask(sampler: FixedSampler(values: [0, 0, 1e-5])) else { Issue.record("expected wait"); return }
        usleep(700_000)
        let retry = try StudyFixtures.trial(try alive.ask(sampler: FixedSampler(values: [0, 0, 1e-5])))
        #expect(alive.trials[0].state == .fail)
        #expect(retry.number == 1 && retry.state == .running && retry.param("lr") == 2e-4 && retry.param("Mask Idx 0") == 1)
        #expect(retry.systemAttribute("failed_trial") == .number(0) && retry.systemAttribute("retry_history") == .array([.number(0)]))
        #expect(retry.systemAttribute(Study.Key.worker) == .string("task-alive"))
        #expect(retry.userAttribute("run_directory") == .string("trials/0"))
        #expect(throws: StudyError.self) { try dead.tell(trialNumber: lost.number, state: .complete, values: [1]) }
        try alive.tell(trialNumber: retry.number, state: .complete, values: [0.5])
        #expect(alive.finishedCount == 1)
    }

    @Test func aRestartedWorkerResumesItsTrialWithAFreshHeartbeat() throws {
        let path = try StudyFixtures.create(wanted: 3)
        let before = try StudyFixtures.trial(try Study(path: path, workerID: "array-7_3").ask(sampler: FixedSampler(values: [1, 1, 1e-4])))
        usleep(20_000)
        let restarted = try Study(path: path, workerID: "array-7_3")
        #expect(restarted.runningTrial(ownedBy: "array-7_3")?.number == before.number)
        let resumed = try #require(try restarted.resume())
        let beat = { (t: Trial) in t.systemAttribute(Study.Key.heartbeat)?.stringValue.flatMap(JournalTime.seconds) ?? 0 }
        #expect(resumed.number == before.number && beat(resumed) > beat(before))
        #expect(try Study(path: path, workerID: "array-7_4").resume() == nil)
    }

    /// Leaves a journal for Tests/python/test_study_interop.py when FAIRTUNE_INTEROP_DIR is set (as `make test` does).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FAIRTUNE_INTEROP_DIR"] != nil, "FAIRTUNE_INTEROP_DIR not set (run through make test)"))
    func writesJournalForOptuna() throws {
        let dir = try #require(ProcessInfo.processInfo.environment["FAIRTUNE_INTEROP_DIR"])
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/swift-study.log"
        let settings = StudySettings(finishedTrialsWanted: 4, heartbeatInterval: 30, gracePeriod: 60, searchSpace: StudyFixtures.space)
        let study = try Study.create(path: path, name: "swift-written", directions: [.maximize], settings: settings,
                                     userAttributes: [(key: "epochs", value: .number(3))], replace: true, workerID: "swift")
        let plan: [(values: [Double], state: TrialState, objective: Double?)] = [
            ([1, 0, 3e-4], .complete, 0.71), ([0, 1, 1e-5], .pruned, nil), ([1, 1, 1e-3], .fail, nil), ([0, 0, 5e-5], .complete, 0.83),
        ]
        for (i, step) in plan.enumerated() {
            let trial = try StudyFixtures.trial(try study.ask(sampler: FixedSampler(values: step.values)))
            _ = try study.report(trialNumber: trial.number, step: 0, value: 0.5 + Double(i) / 100)
            try study.setUserAttribute(trialNumber: trial.number, key: "index", value: .number(Double(i)))
            try study.tell(trialNumber: trial.number, state: step.state, values: step.objective.map { [$0] })
        }
        _ = try study.ask(sampler: FixedSampler(values: [1, 1, 2e-4]))  // left RUNNING
    }
}
