import Foundation
import JSON
import Search
import Testing
import TestSupport

/// Journals written by Optuna 5.0.0 (data-prep/fixtures/make_study_fixtures.py), replayed and compared field by
/// field with what `optuna.load_study` reported for them.
@Suite struct JournalReplayTests {
    static func fixture(_ name: String) -> String { TestSupport.fixtures("search").appendingPathComponent(name).path }

    static func replayed(_ name: String) throws -> StudyJournal {
        var journal = StudyJournal(path: fixture(name), lock: JournalLock(journalPath: fixture(name)))
        try journal.refresh()
        return journal
    }

    static func expected(_ name: String) throws -> JSONValue {
        try JSONValue.parse(String(contentsOfFile: fixture(name), encoding: .utf8))
    }

    @Test(arguments: ["single", "two-objectives", "two-studies", "edge-cases"])
    func replayMatchesOptuna(_ name: String) throws {
        let journal = try Self.replayed("\(name).log")
        let expected = try #require(try Self.expected("\(name).expected.json")["studies"]?.arrayValue)
        #expect(journal.replay.studies.map(\.name) == expected.map { $0["name"]?.stringValue ?? "" })
        for want in expected {
            let study = try #require(journal.replay.studies.first { $0.name == want["name"]?.stringValue })
            #expect(study.id == want["study_id"]?.intValue)
            #expect(study.directions.map(\.rawValue) == want["directions"]?.arrayValue?.compactMap(\.intValue))
            #expect(JSONValue.object(study.userAttributes.map { ($0.key, $0.value) }) == want["user_attrs"])
            #expect(JSONValue.object(study.systemAttributes.map { ($0.key, $0.value) }) == want["system_attrs"])
            let trials = journal.replay.trials(ofStudy: study.id)
            let wantTrials = try #require(want["trials"]?.arrayValue)
            #expect(trials.count == wantTrials.count)
            for (trial, wantTrial) in zip(trials, wantTrials) { Self.check(trial, wantTrial) }
        }
    }

    static func check(_ trial: Trial, _ want: JSONValue) {
        let label = "trial \(trial.number)"
        #expect(trial.number == want["number"]?.intValue, "\(label)")
        #expect(trial.id == want["trial_id"]?.intValue, "\(label)")
        #expect(trial.state.rawValue == want["state"]?.intValue, "\(label)")
        #expect(trial.values == want["values"]?.arrayValue?.compactMap(\.doubleValue), "\(label)")
        let params = Dictionary(uniqueKeysWithValues: trial.params.map { ($0.name, $0.value) })
        let wantParams = Dictionary(uniqueKeysWithValues: (want["params"]?.objectValue ?? []).map { ($0.0, $0.1.doubleValue ?? .nan) })
        #expect(params == wantParams, "\(label)")
        let wantDistributions = (want["distributions"]?.objectValue ?? []).map { ($0.0, try? Distribution(journalText: $0.1.stringValue ?? "")) }
        #expect(trial.distributions.count == wantDistributions.count, "\(label)")
        for (name, distribution) in wantDistributions { #expect(trial.distributions[name] == distribution, "\(label) \(name)") }
        let wantIntermediate = (want["intermediate_values"]?.objectValue ?? []).map { (Int($0.0) ?? -1, $0.1.doubleValue ?? 0) }
        #expect(trial.intermediateValues.count == wantIntermediate.count, "\(label)")
        for (step, value) in wantIntermediate {
            let got = trial.intermediateValues[step]
            #expect(got == value || (got?.isNaN == true && value.isNaN), "\(label) step \(step)")
        }
        #expect(JSONValue.object(trial.userAttributes.map { ($0.key, $0.value) }) == want["user_attrs"], "\(label)")
        #expect(JSONValue.object(trial.systemAttributes.map { ($0.key, $0.value) }) == want["system_attrs"], "\(label)")
        for (text, key) in [(trial.startText, "start"), (trial.completeText, "complete")] {
            let seconds = text.flatMap(JournalTime.seconds)
            if let wantSeconds = want[key]?.doubleValue {
                #expect(abs((seconds ?? 0) - wantSeconds) < 1e-5, "\(label) \(key)")
            } else {
                #expect(seconds == nil, "\(label) \(key)")
            }
        }
    }

    @Test func bestTrialAndParetoFrontMatchOptuna() throws {
        let single = try Study(path: Self.fixture("single.log"), workerID: "reader")
        #expect(single.bestTrial?.number == (try Self.expected("single.expected.json"))["studies"]?.arrayValue?[0]["best_trial"]?.intValue)
        #expect(single.finishedCount == 4)  // two COMPLETE, one PRUNED, one added COMPLETE; FAILs do not count
        let pareto = try Study(path: Self.fixture("two-objectives.log"), workerID: "reader")
        let want = try Self.expected("two-objectives.expected.json")["studies"]?.arrayValue?[0]["best_trials"]?.arrayValue?.compactMap(\.intValue)
        #expect(pareto.paretoFront.map(\.number).sorted() == want)
        #expect(pareto.bestTrial == nil)
    }

    @Test func tornLastLineIsIgnoredAndReadLater() throws {
        let torn = try Self.replayed("torn-last-line.log")
        let whole = try Self.replayed("single.log")
        #expect(torn.replay.trials.count == whole.replay.trials.count)
        #expect(torn.bytesRead == whole.bytesRead)
        #expect(torn.linesRead == whole.linesRead)
    }

    @Test func corruptMiddleLineNamesFileAndLine() {
        #expect {
            try Self.replayed("corrupt-middle-line.log")
        } throws: { error in
            guard case let .corruptLine(path, line, _) = error as? StudyError else { return false }
            return path.hasSuffix("corrupt-middle-line.log") && line == 6
        }
    }

    @Test func unknownOpCodeIsAnError() {
        #expect {
            try Self.replayed("unknown-op-code.log")
        } throws: { error in
            guard case let .invalidRecord(_, line, reason) = error as? StudyError else { return false }
            return line == 4 && reason.contains("op_code 42")
        }
    }

    @Test func anAttributeRecordWithTwoKeysIsAnError() {
        #expect {
            try Self.replayed("two-key-attr.log")
        } throws: { error in
            guard case let .invalidRecord(_, line, reason) = error as? StudyError else { return false }
            return line == 4 && reason.contains("exactly one key")
        }
    }

    @Test func aFileThatIsNotAJournalSaysSo() {
        #expect {
            try Self.replayed("not-a-journal.log")
        } throws: { error in
            guard case .notAJournal = error as? StudyError else { return false }
            return "\(error)".contains("not an Optuna study journal")
        }
    }

    @Test func distributionsReadOptunasOtherForms() throws {
        #expect(try Distribution(journalText: #"{"type": "int", "low": 0, "high": 3}"#) == .int(low: 0, high: 3, step: 1, log: false))
        #expect(try Distribution(journalText: #"{"name": "LogUniformDistribution", "attributes": {"low": 1e-05, "high": 0.1}}"#)
            == .float(low: 1e-5, high: 0.1, step: nil, log: true))
        #expect(try Distribution(journalText: #"{"type": "categorical", "choices": ["a", "b"]}"#) == .categorical(choices: ["a", "b"]))
        #expect(throws: StudyError.self) { try Distribution(journalText: #"{"name": "CategoricalDistribution", "attributes": {"choices": [1, 2]}}"#) }
    }

    @Test func timestampsRoundTripInUTC() {
        let text = JournalTime.text(seconds: 1_796_032_775.552469)
        #expect(text == "2026-11-30T09:59:35.552469+00:00")
        #expect(abs((JournalTime.seconds(text) ?? 0) - 1_796_032_775.552469) < 1e-6)
        #expect(JournalTime.seconds("2026-11-30T10:59:35.5+01:00") == JournalTime.seconds("2026-11-30T09:59:35.500000+00:00"))
        #expect(JournalTime.seconds("2026-11-30 09:59") == nil)
    }
}
