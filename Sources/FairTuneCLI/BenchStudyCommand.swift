import Arguments
import Foundation
import JSON
import Search
import StudyRunner

/// `fairtune bench study`: W worker processes share one journal on a synthetic objective (no
/// training): the journal, the lock and the TPE sampler only.
let benchStudyCommand = Command(CommandSpec(
    name: "fairtune bench study",
    summary: """
        Time a study's machinery: W worker processes ask (TPE) and tell on one journal until N trials are
        finished, with a synthetic objective of 48 mask bits and a log lr. Prints trials per second, the mean
        time per ask and per tell, the lock wait, the journal's size, and the ask time per block of trial numbers.
        """,
    options: [
        .value("workers", "W", "worker processes", default: "4"),
        .value("trials", "N", "finished trials wanted", default: "200"),
        .value("mask-bits", "B", "mask bits of the search space (plus lr)", default: "48"),
        .value("seed", "S", "the sampler's seed", default: "0"),
        .value("dir", "DIR", "folder for the journal (default: a new temporary folder, removed afterwards)"),
        .value("worker-of", "FILE", "internal: run one benchmark worker on FILE and print its timings as JSON"),
    ]
)) { args in
    let seed = UInt64(try args.int("seed", in: 0...(1 << 53))!)
    if let path = args.string("worker-of") {
        try benchWorker(path: path, seed: seed)
        return ExitStatus.success
    }
    let workers = try args.int("workers", in: 1...4096)!, trials = try args.int("trials", in: 1...10_000_000)!
    let bits = try args.int("mask-bits", in: 0...4096)!
    let own = args.string("dir") == nil
    let directory = args.string("dir") ?? FileManager.default.temporaryDirectory.appendingPathComponent("bench-study-\(getpid())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { if own { try? FileManager.default.removeItem(atPath: directory) } }
    let path = directory + "/bench.log"
    let space = (0..<bits).map { (name: StudyConfiguration.maskParameter($0), distribution: Distribution.int(low: 0, high: 1, step: 1, log: false)) }
        + [(name: "lr", distribution: Distribution.float(low: 1e-5, high: 1e-3, step: nil, log: true))]
    try Study.create(path: path, name: "bench", directions: [.maximize],
                     settings: StudySettings(finishedTrialsWanted: trials, heartbeatInterval: 600, gracePeriod: 1200, searchSpace: space),
                     replace: true, workerID: "bench")
    let start = Date()
    let processes = try (0..<workers).map { _ in try launchBenchWorker(path: path, seed: seed) }
    var reports: [JSONValue] = []
    for (process, output) in processes {
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let report = try? JSONValue.parse(bytes: Array(data)) else {
            throw StudyError.invalidArgument("a benchmark worker failed (exit \(process.terminationStatus))")
        }
        reports.append(report)
    }
    printBenchStudy(reports, workers: workers, trials: trials, seconds: Date().timeIntervalSince(start),
                    journalBytes: (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    return ExitStatus.success
}

private func launchBenchWorker(path: String, seed: UInt64) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = ["bench", "study", "--worker-of", path, "--seed", "\(seed)"]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    return (process, output)
}

/// The synthetic objective: a fixed weight per mask bit and a peak at lr = 1e-4.
private func benchObjective(_ trial: Trial) -> Double {
    var value = 0.0
    for param in trial.params {
        if param.name == "lr" {
            value -= pow(log10(param.value) + 4, 2)
        } else if let i = Int(param.name.dropFirst("Mask Idx ".count)) {
            value += param.value * (Double((i * 7) % 11) - 5) / 5
        }
    }
    return value
}

/// One worker: ask/tell until the study is complete; prints its timings as one JSON object.
private func benchWorker(path: String, seed: UInt64) throws {
    let study = try Study(path: path, workerID: "bench-\(getpid())")
    let sampler = TPESampler(seed: seed)
    var askSeconds: [(number: Int, seconds: Double)] = []
    var tellSeconds = 0.0, waits = 0
    while true {
        let askStart = Date()
        switch try study.ask(sampler: sampler) {
        case let .trial(trial):
            askSeconds.append((trial.number, Date().timeIntervalSince(askStart)))
            let tellStart = Date()
            try study.tell(trialNumber: trial.number, state: .complete, values: [benchObjective(trial)])
            tellSeconds += Date().timeIntervalSince(tellStart)
        case .wait:
            waits += 1
            usleep(2000)
        case .complete:
            print(JSONValue.object([
                ("asks", .array(askSeconds.map { .array([.number(Double($0.number)), .number($0.seconds)]) })),
                ("tell_seconds", .number(tellSeconds)), ("waits", .number(Double(waits))),
                ("lock_wait_seconds", .number(study.lockWaitSeconds)), ("lock_acquisitions", .number(Double(study.lockAcquisitions))),
            ]).compactRendered())
            return
        }
    }
}

private func printBenchStudy(_ reports: [JSONValue], workers: Int, trials: Int, seconds: Double, journalBytes: Int) {
    let asks = reports.flatMap { $0["asks"]?.arrayValue ?? [] }.compactMap { pair -> (number: Int, seconds: Double)? in
        guard let p = pair.arrayValue, p.count == 2, let n = p[0].intValue, let s = p[1].doubleValue else { return nil }
        return (n, s)
    }
    let tell = reports.reduce(0) { $0 + ($1["tell_seconds"]?.doubleValue ?? 0) }
    let lockWait = reports.reduce(0) { $0 + ($1["lock_wait_seconds"]?.doubleValue ?? 0) }
    let acquisitions = reports.reduce(0) { $0 + ($1["lock_acquisitions"]?.doubleValue ?? 0) }
    let askTotal = asks.reduce(0) { $0 + $1.seconds }
    print("workers \(workers), trials \(trials): \(String(format: "%.2f", seconds)) s, \(String(format: "%.1f", Double(trials) / seconds)) trials/s")
    print(String(format: "ask (TPE, under the lock) %.2f ms mean, tell %.2f ms mean; lock wait %.2f ms per acquisition (%d acquisitions)",
                 1000 * askTotal / Double(max(asks.count, 1)), 1000 * tell / Double(max(asks.count, 1)),
                 1000 * lockWait / max(acquisitions, 1), Int(acquisitions)))
    print("journal \(journalBytes) bytes (\(journalBytes / max(trials, 1)) per trial)")
    let block = max(1, trials / 10)
    var line = "ask ms by trial number:"
    for first in stride(from: 0, to: trials, by: block) {
        let inBlock = asks.filter { $0.number >= first && $0.number < first + block }
        guard !inBlock.isEmpty else { continue }
        line += String(format: " %d-%d %.2f;", first, first + block - 1, 1000 * inBlock.reduce(0) { $0 + $1.seconds } / Double(inBlock.count))
    }
    print(line)
}
