import JSON
import Search

/// The attribute names fairtune stores in a study beside `Study.Key`'s (documented in docs/search.md).
/// `study finetune` and `study report` read them too.
public enum StudyAttributeKey {
    // Study user attrs, written once by `study create`.
    /// The fairtune version that created the study (a string).
    public static let version = "fairtune:version"
    /// Every `fairtune train` argument of the trials except `--out`, `--lr` and `--mask` (a JSON array of strings).
    public static let trainArguments = "fairtune:train_arguments"
    /// The objective name, or an array of two names for a Pareto study.
    public static let objective = "fairtune:objective"
    /// The sensitive attribute of the group objectives (a string).
    public static let objectiveAttribute = "fairtune:objective_attribute"
    /// "tpe" or "random".
    public static let sampler = "fairtune:sampler"
    /// TPE's random start-up trials (a number).
    public static let startupTrials = "fairtune:startup_trials"
    /// "none", "median" or "halving".
    public static let pruner = "fairtune:pruner"
    /// The sampler's seed, also every trial's training `--seed` (a number).
    public static let seed = "fairtune:seed"
    /// The log-uniform learning-rate range, [low, high].
    public static let lrRange = "fairtune:lr_range"
    /// The log-uniform range of the searched head learning-rate multiplier, [low, high]; absent when not searched.
    public static let headMultiplierRange = "fairtune:head_lr_multiplier_range"
    /// The tuning method's name and its mask length (0: the method takes no mask; only `lr` is searched).
    public static let tuning = "fairtune:tuning"
    public static let maskLength = "fairtune:mask_length"

    // Trial user attrs, written by the worker when a trial ends.
    /// The trial's run directory, relative to the study file's folder (`trials/<number>`).
    public static let runDirectory = "fairtune:run_dir"
    /// The trial's mask as 0/1 text (absent for a method without a mask) and its learning rate.
    public static let mask = "fairtune:mask"
    public static let learningRate = "fairtune:lr"
    public static let headMultiplier = "fairtune:head_lr_multiplier"
    /// Trainable parameters: the count and the percent of all parameters.
    public static let trainableParameters = "fairtune:trainable_parameters"
    public static let trainablePercent = "fairtune:trainable_percent"
    /// Validation AUC and accuracy of the whole split (numbers; null when undefined).
    public static let validationAUC = "fairtune:val_auc"
    public static let validationAccuracy = "fairtune:val_accuracy"
    /// Per attribute, per group: `{"sex": {"F": 0.81, "M": 0.77}}` (null where undefined).
    public static let validationGroupAUC = "fairtune:val_group_auc"
    public static let validationGroupAccuracy = "fairtune:val_group_accuracy"
    /// Per attribute: |highest − lowest group AUC| (null when undefined).
    public static let validationAUCGap = "fairtune:val_auc_gap"
    /// Epochs trained and training seconds (all sessions of the run).
    public static let epochsTrained = "fairtune:epochs_trained"
    public static let trainSeconds = "fairtune:train_seconds"
    /// Why a trial is FAIL (divergence, an undefined objective, a setup error).
    public static let failReason = "fairtune:fail_reason"
}

/// The search settings `study create` stores, read back by every worker.
public struct StudyConfiguration: Sendable {
    public enum SamplerKind: String, Sendable, CaseIterable { case tpe, random }
    public enum PrunerKind: String, Sendable, CaseIterable { case none, median, halving }

    public var version: String
    public var trainArguments: [String]
    public var objectives: [SearchObjective]
    public var objectiveAttribute: String
    public var sampler: SamplerKind
    public var startupTrials: Int
    public var pruner: PrunerKind
    public var seed: UInt64
    public var lrRange: (low: Double, high: Double)
    /// The head learning-rate multiplier's range when it is searched (`head_lr_multiplier`).
    public var headMultiplierRange: (low: Double, high: Double)?
    public var tuning: String
    public var maskLength: Int

    public init(version: String, trainArguments: [String], objectives: [SearchObjective], objectiveAttribute: String,
                sampler: SamplerKind, startupTrials: Int, pruner: PrunerKind, seed: UInt64,
                lrRange: (low: Double, high: Double), tuning: String, maskLength: Int,
                headMultiplierRange: (low: Double, high: Double)? = nil) {
        self.version = version
        self.trainArguments = trainArguments
        self.objectives = objectives
        self.objectiveAttribute = objectiveAttribute
        self.sampler = sampler
        self.startupTrials = startupTrials
        self.pruner = pruner
        self.seed = seed
        self.lrRange = lrRange
        self.tuning = tuning
        self.maskLength = maskLength
        self.headMultiplierRange = headMultiplierRange
    }

    /// The study user attrs that hold this configuration, in the order written.
    public var userAttributes: [(key: String, value: JSONValue)] {
        typealias K = StudyAttributeKey
        let objective: JSONValue = objectives.count == 1 ? .string(objectives[0].rawValue)
            : .array(objectives.map { .string($0.rawValue) })
        return [
            (K.version, .string(version)),
            (K.trainArguments, .array(trainArguments.map { .string($0) })),
            (K.objective, objective),
            (K.objectiveAttribute, .string(objectiveAttribute)),
            (K.sampler, .string(sampler.rawValue)),
            (K.startupTrials, .number(Double(startupTrials))),
            (K.pruner, .string(pruner.rawValue)),
            (K.seed, .number(Double(seed))),
            (K.lrRange, .array([.number(lrRange.low), .number(lrRange.high)])),
            (K.tuning, .string(tuning)),
            (K.maskLength, .number(Double(maskLength))),
        ] + (headMultiplierRange.map { [(K.headMultiplierRange, .array([.number($0.low), .number($0.high)]))] } ?? [])
    }

    /// The searched head learning-rate multiplier's parameter.
    public static let headMultiplierParameter = "head_lr_multiplier"

    /// The name of mask bit `i`'s parameter: `Mask Idx i`, the reference's.
    public static func maskParameter(_ i: Int) -> String { "Mask Idx \(i)" }

    /// The search space: one int in {0, 1} per mask bit (`maskParameter(i)`), then the log-uniform `lr`.
    public var searchSpace: [(name: String, distribution: Distribution)] {
        (0..<maskLength).map { (name: Self.maskParameter($0), distribution: .int(low: 0, high: 1, step: 1, log: false)) }
            + [(name: "lr", distribution: .float(low: lrRange.low, high: lrRange.high, step: nil, log: true))]
            + (headMultiplierRange.map { [(name: Self.headMultiplierParameter,
                                           distribution: .float(low: $0.low, high: $0.high, step: nil, log: true))] } ?? [])
    }

    /// The directions of the objectives, in order.
    public var directions: [StudyDirection] { objectives.map(\.direction) }
}

extension StudyConfiguration {
    /// Reads the configuration of `study`.
    /// - Throws: `StudyRunnerError.studySetting` naming the attribute that is missing or mistyped.
    public init(study: Study) throws(StudyRunnerError) {
        typealias K = StudyAttributeKey
        let record = study.record
        let path = study.journal.path
        func value(_ key: String) throws(StudyRunnerError) -> JSONValue {
            guard let v = record.userAttribute(key) else { throw .studySetting(path: path, key: key, message: "missing") }
            return v
        }
        func text(_ key: String) throws(StudyRunnerError) -> String {
            let v = try value(key)
            guard let s = v.stringValue else { throw .studySetting(path: path, key: key, message: "expected a string") }
            return s
        }
        func whole(_ key: String) throws(StudyRunnerError) -> Int {
            let v = try value(key)
            guard let x = v.doubleValue, x >= 0, x == x.rounded(), x < 1e15 else {
                throw .studySetting(path: path, key: key, message: "expected a whole number")
            }
            return Int(x)
        }
        let arguments = try value(K.trainArguments).arrayValue?.compactMap(\.stringValue)
        guard let arguments, arguments.count == record.userAttribute(K.trainArguments)?.arrayValue?.count else {
            throw .studySetting(path: path, key: K.trainArguments, message: "expected an array of strings")
        }
        let objectiveValue = try value(K.objective)
        let objectiveNames = objectiveValue.stringValue.map { [$0] } ?? objectiveValue.arrayValue?.compactMap(\.stringValue) ?? []
        let objectives: [SearchObjective]
        do { objectives = try SearchObjective.parseList(objectiveNames.joined(separator: ",")) } catch {
            throw .studySetting(path: path, key: K.objective, message: error.description)
        }
        guard let sampler = SamplerKind(rawValue: try text(K.sampler)) else {
            throw .studySetting(path: path, key: K.sampler, message: "expected one of tpe, random")
        }
        guard let pruner = PrunerKind(rawValue: try text(K.pruner)) else {
            throw .studySetting(path: path, key: K.pruner, message: "expected one of none, median, halving")
        }
        let range = try value(K.lrRange).arrayValue?.compactMap(\.doubleValue) ?? []
        guard range.count == 2, range[0] > 0, range[0] <= range[1] else {
            throw .studySetting(path: path, key: K.lrRange, message: "expected [low, high] with 0 < low <= high")
        }
        self.init(version: try text(K.version), trainArguments: arguments, objectives: objectives,
                  objectiveAttribute: try text(K.objectiveAttribute), sampler: sampler, startupTrials: try whole(K.startupTrials),
                  pruner: pruner, seed: UInt64(try whole(K.seed)), lrRange: (range[0], range[1]), tuning: try text(K.tuning),
                  maskLength: try whole(K.maskLength))
        if let head = record.userAttribute(K.headMultiplierRange) {
            let bounds = head.arrayValue?.compactMap(\.doubleValue) ?? []
            guard bounds.count == 2, bounds[0] > 0, bounds[0] <= bounds[1] else {
                throw .studySetting(path: path, key: K.headMultiplierRange, message: "expected [low, high] with 0 < low <= high")
            }
            headMultiplierRange = (bounds[0], bounds[1])
        }
    }

    /// The sampler the study asks for, seeded.
    public func makeSampler() -> any Sampler {
        switch sampler {
        case .tpe: return TPESampler(seed: seed, startupTrials: startupTrials)
        case .random: return RandomSampler(seed: seed)
        }
    }

    /// The pruner (nil: none). Optuna's defaults.
    public func makePruner() -> (any Pruner)? {
        switch pruner {
        case .none: return nil
        case .median: return MedianPruner()
        case .halving: return SuccessiveHalvingPruner()
        }
    }
}

/// A trial's parameters in `fairtune train`'s terms.
public struct TrialAssignment: Sendable, Equatable {
    /// The mask as 0/1 text (nil for a method without a mask).
    public var mask: String?
    /// The learning rate, as text that parses back to the sampled double exactly.
    public var learningRate: String
    /// The head learning-rate multiplier when the study searches it.
    public var headMultiplier: String?

    /// The assignment of `trial`, whose params follow `configuration`'s search space.
    /// - Throws: `StudyRunnerError.trialFailed` when a parameter is missing or not 0/1.
    public init(trial: Trial, configuration: StudyConfiguration) throws(StudyRunnerError) {
        var bits = ""
        for i in 0..<configuration.maskLength {
            let name = StudyConfiguration.maskParameter(i)
            guard let bit = trial.param(name), bit == 0 || bit == 1 else {
                throw .trialFailed(number: trial.number, message: "parameter '\(name)' is missing or not 0/1")
            }
            bits += bit == 1 ? "1" : "0"
        }
        guard let lr = trial.param("lr"), lr > 0, lr.isFinite else {
            throw .trialFailed(number: trial.number, message: "parameter 'lr' is missing or not a positive number")
        }
        mask = configuration.maskLength > 0 ? bits : nil
        learningRate = "\(lr)"
        if configuration.headMultiplierRange != nil {
            guard let m = trial.param(StudyConfiguration.headMultiplierParameter), m > 0, m.isFinite else {
                throw .trialFailed(number: trial.number, message: "parameter '\(StudyConfiguration.headMultiplierParameter)' is missing "
                                   + "or not a positive number")
            }
            headMultiplier = "\(m)"
        }
    }
}
