import Arguments
import Foundation
import Search
import StudyRunner

/// The options of `fairtune study create` and how they become a study's settings.
enum StudyOptions {
    /// `fairtune train` options a study sets per trial (`--lr`, `--mask`, `--out`) or never (`--resume`).
    static let perTrial: Set<String> = ["out", "lr", "mask", "resume"]

    static let searchSpecs: [OptionSpec] = [
        .value("study", "FILE", "the study journal to write (Optuna's JournalFileBackend format); trials train into "
            + "FILE's folder/trials/<number>", required: true),
        .value("trials", "N", "finished (COMPLETE + PRUNED) trials wanted", default: "20"),
        .value("objective", "OBJ[,OBJ2]", "what the search optimises on the validation split: "
            + SearchObjective.allCases.map(\.rawValue).joined(separator: ", ") + "; two separated by a comma make a Pareto study",
            default: "min_auc"),
        .value("objective-attribute", "NAME", "the sensitive attribute of group objectives (default: the first --attribute)"),
        .value("lr-range", "LOW:HIGH", "the log-uniform range of the searched learning rate", default: "1e-5:1e-3"),
        .value("head-lr-multiplier-range", "A:B", "also search a log-uniform head_lr_multiplier in [A, B]: the head "
            + "trains at lr x multiplier (default: not searched, multiplier 1)"),
        .value("sampler", "NAME", "tpe (Optuna's TPESampler) or random", default: "tpe"),
        .value("startup-trials", "K", "TPE: random trials before the model is used", default: "10"),
        .value("pruner", "NAME", "none, median or halving (successive halving); asked after every epoch", default: "none"),
        .value("heartbeat-interval", "SECONDS", "seconds between a running trial's heartbeats", default: "60"),
        .value("grace-period", "SECONDS", "a RUNNING trial without a heartbeat this long is failed and retried (default: twice the interval)"),
        .value("study-name", "NAME", "the study's name (default: FILE's name without its extension)"),
        .flag("force", "replace an existing study FILE and the run directories in its trials/ folder"),
    ]

    /// Every option of `study create`: the search's, then `fairtune train`'s except the per-trial ones;
    /// `--seed` seeds the sampler and every trial's training.
    static let createSpecs: [OptionSpec] = searchSpecs + TrainOptions.specs.filter { !perTrial.contains($0.name) }.map { spec in
        guard spec.name == "seed" else { return spec }
        var seed = spec
        seed.help = "seeds the sampler and every trial's training (head initialisation, shuffle, augmentations)"
        return seed
    }

    /// The `fairtune train` arguments every trial shares, defaults written out (a later version's defaults do not
    /// change a study) and the data and weights paths made absolute (workers may start elsewhere).
    static func trainArguments(_ args: ParsedArguments) -> [String] {
        var arguments: [String] = []
        for spec in TrainOptions.specs where !perTrial.contains(spec.name) {
            if spec.isFlag {
                if args.flag(spec.name) { arguments.append("--" + spec.name) }
            } else if spec.isRepeatable {
                for value in args.strings(spec.name) { arguments += ["--" + spec.name, value] }
            } else if let value = args.string(spec.name) {
                let absolute = spec.name == "data" || spec.name == "weights"
                arguments += ["--" + spec.name, absolute ? absolutePath(value) : value]
            }
        }
        return arguments
    }

    static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }

    /// `--lr-range LOW:HIGH` with 0 < LOW <= HIGH.
    static func learningRateRange(_ args: ParsedArguments) throws -> (low: Double, high: Double) {
        let text = try args.requiredString("lr-range")
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], low >= 1e-12, low <= high, high <= 1e3 else {
            throw ArgumentError.invalidValue(command: args.spec.name, option: "--lr-range", value: text,
                                             expected: "LOW:HIGH with 1e-12 <= LOW <= HIGH <= 1000, e.g. 1e-5:1e-3")
        }
        return (low, high)
    }

    /// `--head-lr-multiplier-range A:B` with 0 < A <= B, or nil when absent.
    static func headMultiplierRange(_ args: ParsedArguments) throws -> (low: Double, high: Double)? {
        guard let text = args.string("head-lr-multiplier-range") else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], low >= 1e-6, low <= high, high <= 1e6 else {
            throw ArgumentError.invalidValue(command: args.spec.name, option: "--head-lr-multiplier-range", value: text,
                                             expected: "A:B with 1e-6 <= A <= B <= 1e6, e.g. 1:100")
        }
        return (low, high)
    }

    /// The study's heartbeat interval and grace period (default twice the interval).
    static func heartbeat(_ args: ParsedArguments) throws -> (interval: Double, grace: Double) {
        let interval = try args.double("heartbeat-interval", in: 0.01...86_400)!
        return (interval, try args.double("grace-period", in: 0.01...864_000) ?? 2 * interval)
    }

    /// The default worker id: a Slurm array task's `JOBID_TASKID`, else host and process id.
    static func defaultWorkerID() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let job = environment["SLURM_ARRAY_JOB_ID"], let task = environment["SLURM_ARRAY_TASK_ID"] { return "\(job)_\(task)" }
        return "\(ProcessInfo.processInfo.hostName)-\(getpid())"
    }
}
