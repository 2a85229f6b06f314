// A worker process for the multi-process study tests (SearchTests.MultiProcessTests and Tests/python/test_study_interop.py):
//   fairtune-study-check work JOURNAL WORKER_ID [--hold] [--trial-ms MS]
//                                                          ask/report/tell until the study is complete; --hold keeps
//                                                          the first trial RUNNING without heartbeats until killed
//   fairtune-study-check create JOURNAL N GRACE_SECONDS     a maximised study "check": 4 mask bits and a log lr, N wanted
//   fairtune-study-check summary JOURNAL                   prints the replayed study as JSON (for Python to compare)
// Objective of a trial: the sum of its internal param values (the tests recompute it).
import Foundation
import JSON
import Randomness
import Search

/// Uniform over each distribution, seeded by the trial number: enough for exercising the journal.
struct CheckSampler: Sampler {
    func sample(space: [(name: String, distribution: Distribution)], trials: [Trial], directions: [StudyDirection], trialNumber: Int) -> [Double] {
        var random = SeededRandom(seed: 20261130, UInt64(trialNumber), 0)
        return space.map { parameter in
            switch parameter.distribution {
            case let .int(low, high, step, _): return Double(low + step * random.below((high - low) / step + 1))
            case let .float(low, high, _, log): return log ? exp(random.uniform(Foundation.log(low), Foundation.log(high))) : random.uniform(low, high)
            case let .categorical(choices): return Double(random.below(choices.count))
            }
        }
    }
}

func work(path: String, workerID: String, hold: Bool, trialMilliseconds: Int) throws {
    let study = try Study(path: path, workerID: workerID)
    var done = 0
    while true {
        var trial = try study.resume()
        if trial == nil {
            switch try study.ask(sampler: CheckSampler()) {
            case let .trial(t): trial = t
            case .wait: usleep(20_000); continue
            case .complete:
                print("worker \(workerID): \(done) trials, lock waited \(study.lockWaitSeconds) s over \(study.lockAcquisitions) acquisitions")
                return
            }
        }
        guard let trial else { continue }
        if hold {
            FileHandle.standardOutput.write("holding \(trial.number)\n".data(using: .utf8)!)
            while true { sleep(60) }
        }
        let objective = trial.params.reduce(0) { $0 + $1.value }
        _ = try study.report(trialNumber: trial.number, step: 0, value: objective / 2)
        usleep(useconds_t(trialMilliseconds * 1000))
        try study.heartbeat(trialNumber: trial.number)
        try study.setUserAttribute(trialNumber: trial.number, key: "worker_process", value: .number(Double(getpid())))
        try study.tell(trialNumber: trial.number, state: .complete, values: [objective])
        done += 1
    }
}

func create(path: String, wanted: Int, grace: Double) throws {
    let space: [(name: String, distribution: Distribution)] = (0..<4).map { (name: "Mask Idx \($0)", distribution: .int(low: 0, high: 1, step: 1, log: false)) }
        + [(name: "lr", distribution: .float(low: 1e-5, high: 1e-3, step: nil, log: true))]
    let settings = StudySettings(finishedTrialsWanted: wanted, heartbeatInterval: grace / 2, gracePeriod: grace, searchSpace: space)
    try Study.create(path: path, name: "check", directions: [.maximize], settings: settings, workerID: "creator")
}

func summary(path: String) throws {
    var journal = StudyJournal(path: path, lock: JournalLock(journalPath: path))
    try journal.refresh()
    let studies: [JSONValue] = journal.replay.studies.map { study in
        let trials: [JSONValue] = journal.replay.trials(ofStudy: study.id).map { t in
            .object([
                ("number", .number(Double(t.number))), ("trial_id", .number(Double(t.id))), ("state", .number(Double(t.state.rawValue))),
                ("values", t.values.map { .array($0.map { .number($0) }) } ?? .null),
                ("params", .object(t.params.map { ($0.name, .number($0.value)) })),
                ("user_attrs", .object(t.userAttributes.map { ($0.key, $0.value) })),
                ("system_attrs", .object(t.systemAttributes.map { ($0.key, $0.value) })),
            ])
        }
        return .object([("name", .string(study.name)), ("study_id", .number(Double(study.id))),
                        ("directions", .array(study.directions.map { .number(Double($0.rawValue)) })), ("trials", .array(trials))])
    }
    print(JSONValue.object([("studies", .array(studies))]).compactRendered())
}

let arguments = CommandLine.arguments
do {
    switch arguments.count > 2 ? arguments[1] : "" {
    case "work" where arguments.count >= 4:
        let milliseconds = arguments.firstIndex(of: "--trial-ms").flatMap { arguments.count > $0 + 1 ? Int(arguments[$0 + 1]) : nil } ?? 0
        try work(path: arguments[2], workerID: arguments[3], hold: arguments.contains("--hold"), trialMilliseconds: milliseconds)
    case "create" where arguments.count == 5:
        try create(path: arguments[2], wanted: Int(arguments[3]) ?? 0, grace: Double(arguments[4]) ?? 0)
    case "summary": try summary(path: arguments[2])
    default:
        FileHandle.standardError.write("usage: fairtune-study-check work JOURNAL WORKER_ID [--hold] [--trial-ms MS] | create JOURNAL N GRACE | summary JOURNAL\n".data(using: .utf8)!)
        exit(2)
    }
} catch {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
