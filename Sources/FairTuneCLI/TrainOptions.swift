import Arguments
import Distributed
import Foundation
import Metrics
import Training

/// The options of `fairtune train`, shared by every command that trains: `train` itself, `study
/// create` (which stores them in the study for every trial) and `finetune`.
enum TrainOptions {
    static let specs: [OptionSpec] = [
        .value("data", "DIR", "prepared dataset (manifest.json and shards)", required: true),
        .value("weights", "PATH", "pretrained timm ViT weights (safetensors); the head is replaced for the task", required: true),
        .value("attribute", "NAME", "sensitive attribute to report metrics for (repeat for several; required unless the dataset has none)", repeatable: true),
        .value("out", "RUN_DIR", "run directory (created; an existing run there is resumed)", required: true),
    ] + TuningOptions.specs.map { option in
        var option = option
        option.isRequired = option.isRequired || option.name == "tuning"  // train must be told what trains
        return option
    } + [
        .value("lr", "X", "base learning rate", default: "0.001"),
        .value("head-lr-multiplier", "M", "the classifier head learns at M times the rate", default: "1"),
        .value("epochs", "N", "training epochs", default: "10"),
        .value("batch-size", "GLOBAL", "samples per optimizer step over all ranks", default: "64"),
        .value("optimizer", "NAME", "sgd, adamw (torch defaults for betas and eps) or rmsprop", default: "adamw"),
        .value("momentum", "M", "SGD and RMSprop momentum", default: "0.9"),
        .flag("nesterov", "SGD with Nesterov momentum"),
        .value("rmsprop-alpha", "A", "RMSprop: decay of the squared-gradient average (the reference's 0.9)", default: "0.9"),
        .value("rmsprop-eps", "EPS", "RMSprop: added to the root of that average (the reference's 0.0316)", default: "0.0316"),
        .value("weight-decay", "WD", "decoupled (AdamW) or L2 (SGD, RMSprop) weight decay", default: "0.0001"),
        .flag("no-decay-norms-and-biases", "no weight decay on norm parameters and biases"),
        .value("schedule", "NAME", "constant, step, cosine or exponential, stepped once per epoch", default: "cosine"),
        .value("step-size", "EPOCHS", "step schedule: epochs between decays", default: "30"),
        .value("gamma", "G", "step schedule: decay factor; exponential schedule: factor per epoch", default: "0.1"),
        .value("min-lr", "X", "cosine schedule: final learning rate", default: "0"),
        .value("warmup-epochs", "N", "warmup epochs before the schedule", default: "0"),
        .value("warmup-method", "NAME", "linear (ramp from F·lr) or constant (F·lr throughout; the reference's default)", default: "linear"),
        .value("warmup-start-factor", "F", "warmup: first epoch's fraction of the base rate (constant: every warmup epoch's)", default: "0.01"),
        .value("label-smoothing", "EPS", "label smoothing of the loss", default: "0"),
        .value("augment", "NAME", "training augmentation: reference (RandomResizedCrop 0.08-1 + horizontal flip; evaluation "
            + "resizes to size/0.875 and centre-crops), flip (horizontal and vertical flips of the whole image) or none "
            + "(with flip and none, evaluation sees the whole image too)", default: "reference"),
        .value("clip-grad-norm", "MAX", "clip the gradients' total 2-norm to MAX (default: no clipping)"),
        .value("mean", "R,G,B", "per-channel mean applied to pixel/255, with --std (default: the dataset manifest's)"),
        .value("std", "R,G,B", "per-channel standard deviation, with --mean (default: the dataset manifest's)"),
        .value("class-weights", "auto|none|W0,W1,...", "loss weight per class; auto = inverse class frequency of the train split, mean 1", default: "none"),
        .value("seed", "S", "seeds the head initialisation, the shuffle and the augmentations", default: "0"),
        .value("image-size", "PX", "model input size (default: the weights'; position embeddings are resampled)"),
        .value("num-heads", "N", "attention heads (default: the weights' num_heads metadata, else width / 64)"),
        .flag("test", "evaluate the test split at the end"),
        .flag("train-metrics", "also evaluate the training split at the end (predictions-train.csv; \"train\" in result.json)"),
        .value("keep-best", "OBJECTIVE[:ATTRIBUTE]", "also keep checkpoint-best.safetensors of the best epoch by this val metric, e.g. auc or worst_group_auc:sex"),
        .value("checkpoint-every", "STEPS", "also checkpoint every STEPS optimizer steps (0: epoch ends and stop requests only)", default: "0"),
        .flag("resume", "require a checkpoint in RUN_DIR to resume from (a rerun resumes anyway)"),
        .value("threads", "N", "compute threads per rank (default: SLURM_CPUS_PER_TASK, else the cores shared among the node's ranks)"),
        .value("workers", "N", "image-loading threads per rank", default: "1"),
        .value("log-interval", "SECONDS", "seconds between progress lines when the output is not a terminal", default: "30"),
    ] + GEMMOptions.specs(defaultPrecision: .fp32)

    /// Settings from an argument list stored earlier (a study's), with some options replaced: each
    /// `replacing` entry drops every occurrence of the option from `stored` and appends it (a nil
    /// value appends a flag).
    static func settings(stored: [String], replacing: [(name: String, value: String?)], world: Communicator) throws -> TrainingSettings {
        let spec = CommandSpec(name: "fairtune train", summary: "", options: specs)
        let args = try ParsedArguments(arguments(stored, replacing: replacing), spec: spec)
        return try settings(args, world: world)
    }

    /// `stored` without the options named in `replacing`, then those options with their values.
    static func arguments(_ stored: [String], replacing: [(name: String, value: String?)]) -> [String] {
        var kept = arguments(stored, removing: Set(replacing.map(\.name)))
        for option in replacing {
            kept.append("--" + option.name)
            if let value = option.value { kept.append(value) }
        }
        return kept
    }

    /// `stored` without any occurrence of the options in `names`.
    static func arguments(_ stored: [String], removing names: Set<String>) -> [String] {
        let flags = Set(specs.filter(\.isFlag).map(\.name))
        var kept: [String] = []
        var i = 0
        while i < stored.count {
            let word = stored[i]
            let name = word.hasPrefix("--") ? String(word.dropFirst(2).prefix { $0 != "=" }) : ""
            if names.contains(name) {
                // "--name value" takes the next word too; "--name=value" and flags do not.
                i += (word.contains("=") || flags.contains(name)) ? 1 : 2
                continue
            }
            kept.append(word)
            i += 1
        }
        return kept
    }

    /// The settings of `fairtune train`, with every option checked.
    static func settings(_ args: ParsedArguments, world: Communicator) throws -> TrainingSettings {
        let name = args.spec.name
        // --tuning is required by the spec, so the parser has refused its absence already.
        let method = try TuningOptions.method(args) ?? .full
        let lora = try TuningOptions.lora(args, method: method)
        let classWeights: TrainingSettings.ClassWeightMode
        switch try args.requiredString("class-weights") {
        case "auto": classWeights = .auto
        case "none": classWeights = .none
        case let text:
            // The count is checked against the task's classes once the dataset is read.
            let values = text.split(separator: ",", omittingEmptySubsequences: false)
            classWeights = .explicit(try ClassWeights.parse(text, classes: values.count))
        }
        var keepBest: (objective: Objective, attribute: String?)?
        if let text = args.string("keep-best") {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard let objective = Objective(rawValue: parts[0]) else {
                throw ArgumentError.invalidValue(command: name, option: "--keep-best", value: text,
                                                 expected: "one of " + Objective.allCases.map(\.rawValue).joined(separator: ", ")
                                                    + " (group objectives as OBJECTIVE:ATTRIBUTE)")
            }
            keepBest = (objective, parts.count > 1 ? parts[1] : nil)
        }
        let threads = try args.int("threads", in: 1...1024) ?? defaultThreadsPerRank(world: world)
        let normalization = try normalizationOption(args)
        var settings = TrainingSettings(
            dataDirectory: try args.requiredString("data"), weightsPath: try args.requiredString("weights"),
            attributes: args.strings("attribute"), method: method, mask: args.string("mask"),
            loraRank: lora.rank, loraAlpha: lora.alpha,
            learningRate: try args.double("lr", in: 1e-12...1e3)!, epochs: try args.int("epochs", in: 1...100_000)!,
            globalBatchSize: try args.int("batch-size", in: 1...1_000_000)!,
            optimizer: .init(rawValue: try args.choice("optimizer", TrainingSettings.OptimizerKind.allCases.map(\.rawValue))!)!,
            momentum: try args.double("momentum", in: 0...0.9999)!, nesterov: args.flag("nesterov"),
            rmspropAlpha: try args.double("rmsprop-alpha", in: 0...1)!, rmspropEpsilon: try args.double("rmsprop-eps", in: 0...10)!,
            weightDecay: try args.double("weight-decay", in: 0...10)!, decayNormsAndBiases: !args.flag("no-decay-norms-and-biases"),
            schedule: .init(rawValue: try args.choice("schedule", TrainingSettings.ScheduleKind.allCases.map(\.rawValue))!)!,
            stepSize: try args.int("step-size", in: 1...100_000)!, gamma: try args.double("gamma", in: 1e-9...1e3)!,
            warmupEpochs: try args.int("warmup-epochs", in: 0...100_000)!,
            warmupStartFactor: try args.double("warmup-start-factor", in: 1e-9...1)!,
            warmupMethod: .init(rawValue: try args.choice("warmup-method", TrainingSettings.WarmupMethod.allCases.map(\.rawValue))!)!,
            minimumLearningRate: try args.double("min-lr", in: 0...1e3)!,
            labelSmoothing: try args.double("label-smoothing", in: 0...0.999)!,
            clipGradNorm: try args.double("clip-grad-norm", in: 1e-12...1e12), classWeights: classWeights,
            normalization: normalization, seed: UInt64(try args.int("seed", in: 0...(1 << 53))!), imageSize: try args.int("image-size", in: 1...4096),
            heads: try args.int("num-heads", in: 1...4096), evaluateTest: args.flag("test"), keepBest: keepBest,
            checkpointEvery: try args.int("checkpoint-every", in: 0...100_000_000)!, threads: threads,
            workers: try args.int("workers", in: 1...256)!, logInterval: try args.double("log-interval", in: 0.1...86_400)!,
            outDirectory: try args.requiredString("out"), resume: args.flag("resume"))
        settings.evaluateTrain = args.flag("train-metrics")
        settings.headLearningRateMultiplier = try args.double("head-lr-multiplier", in: 1e-6...1e6)!
        settings.augmentation = .init(rawValue: try args.choice("augment", TrainingSettings.Augmentation.allCases.map(\.rawValue))!)!
        settings.gemm = try GEMMOptions.request(args)
        return settings
    }

    /// `--mean` and `--std` together: three finite numbers each, standard deviations positive.
    private static func normalizationOption(_ args: ParsedArguments) throws -> (mean: [Double], std: [Double])? {
        let name = args.spec.name
        switch (args.string("mean"), args.string("std")) {
        case (nil, nil):
            return nil
        case let (mean?, std?):
            func channels(_ option: String, _ text: String, positive: Bool) throws -> [Double] {
                let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard values.count == 3, values.allSatisfy({ $0 != nil && $0!.isFinite && (!positive || $0! > 0) }) else {
                    throw ArgumentError.invalidValue(command: name, option: option, value: text,
                                                     expected: "three comma-separated \(positive ? "positive " : "")numbers (R,G,B)")
                }
                return values.map { $0! }
            }
            return (try channels("--mean", mean, positive: false), try channels("--std", std, positive: true))
        case (nil, _?):
            throw ArgumentError.missingRequired(command: name, option: "mean")
        case (_?, nil):
            throw ArgumentError.missingRequired(command: name, option: "std")
        }
    }
}

/// BLAS threads per rank when --threads is absent: Slurm's `SLURM_CPUS_PER_TASK`, else the
/// cores divided among the ranks on this node (`OMPI_COMM_WORLD_LOCAL_SIZE` or
/// `SLURM_STEP_TASKS_PER_NODE`), so ranks never oversubscribe the node.
func defaultThreadsPerRank(world: Communicator) -> Int {
    let environment = ProcessInfo.processInfo.environment
    if let text = environment["SLURM_CPUS_PER_TASK"], let n = Int(text), n > 0 { return n }
    // Open MPI's local size; under srun Slurm's tasks on this node ("2" or "2(x3)").
    let slurmLocal = environment["SLURM_STEP_TASKS_PER_NODE"].flatMap { Int($0.prefix { $0.isNumber }) }
    let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? slurmLocal ?? world.size
    return max(1, ProcessInfo.processInfo.activeProcessorCount / max(local, 1))
}
