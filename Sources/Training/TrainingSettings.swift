import Foundation
import JSON
import Metrics
import Tensor
import ViT

/// Every setting of a training run, resolved (defaults filled in). Built by `fairtune train`.
public struct TrainingSettings: Sendable {
    /// The optimizers on offer (the reference's `--opt sgd|rmsprop|adamw`).
    public enum OptimizerKind: String, Sendable, CaseIterable { case sgd, adamw, rmsprop }
    /// The learning-rate shapes on offer (stepped once per epoch, as the reference).
    public enum ScheduleKind: String, Sendable, CaseIterable { case constant, step, cosine, exponential }
    /// The warmup's shape (the reference's `--lr-warmup-method`): a linear ramp from
    /// `warmupStartFactor`·lr, or `warmupStartFactor`·lr held for the warmup epochs.
    public enum WarmupMethod: String, Sendable, CaseIterable { case linear, constant }
    /// `--class-weights`.
    public enum ClassWeightMode: Sendable, Equatable {
        case none
        /// Inverse class frequency of the training split, normalised to mean 1.
        case auto
        case explicit([Double])
    }

    /// The prepared dataset (`--data`).
    public var dataDirectory: String
    /// Pretrained timm weights (`--weights`).
    public var weightsPath: String
    /// Sensitive attributes reported (`--attribute`), manifest names.
    public var attributes: [String]
    /// What trains (`--tuning`).
    public var method: PEFTMethod
    /// The mask text as given (nil: all ones).
    public var mask: String?
    /// LoRA rank and alpha (`--tuning lora` only; alpha nil: the rank).
    public var loraRank: Int
    public var loraAlpha: Float?
    /// Base learning rate, epochs, and samples per step over all ranks.
    public var learningRate: Double
    public var epochs: Int
    public var globalBatchSize: Int
    /// The optimizer; the momentum of SGD and RMSprop; SGD's Nesterov flag.
    public var optimizer: OptimizerKind
    public var momentum: Double
    public var nesterov: Bool
    /// RMSprop's decay of the squared-gradient average and its epsilon (the reference: 0.9, 0.0316).
    public var rmspropAlpha: Double
    public var rmspropEpsilon: Double
    /// Weight decay of every trainable tensor (see `decayNormsAndBiases`).
    public var weightDecay: Double
    /// No weight decay on norm parameters and biases (torchvision's `set_weight_decay` groups).
    public var decayNormsAndBiases: Bool
    /// The learning-rate shape, stepped once per epoch.
    public var schedule: ScheduleKind
    /// Epochs per step of the step schedule, and the factor of the step and exponential schedules.
    public var stepSize: Int
    public var gamma: Double
    /// Warmup epochs, the first epoch's fraction of the base rate, and the warmup's shape.
    public var warmupEpochs: Int
    public var warmupStartFactor: Double
    public var warmupMethod: WarmupMethod
    /// The cosine schedule's final rate.
    public var minimumLearningRate: Double
    /// Label smoothing of the cross-entropy.
    public var labelSmoothing: Double
    /// Total-norm clipping threshold (nil: none).
    public var clipGradNorm: Double?
    /// Loss weight per class (`--class-weights`).
    public var classWeights: ClassWeightMode
    /// Seeds the head initialisation, the shuffles and the augmentations.
    public var seed: UInt64
    /// Per-channel mean and standard deviation applied to pixel / 255 (`--mean`, `--std`); nil:
    /// the dataset manifest's. Set them to what the pretrained weights expect (timm's
    /// `pretrained_cfg`, e.g. 0.5/0.5 for the augreg ViT-B/16) when it differs from the manifest.
    public var normalization: (mean: [Double], std: [Double])?
    /// Model input size (nil: the weights file's) and heads (nil: the file's metadata).
    public var imageSize: Int?
    public var heads: Int?
    /// Evaluate the test split at the end.
    public var evaluateTest: Bool
    /// Also evaluate the training split at the end (eval transform), to compare train and test
    /// fairness: the generalisation gap FairTune addresses.
    public var evaluateTrain = false
    /// Keep the checkpoint of the best epoch by this objective (and attribute).
    public var keepBest: (objective: Objective, attribute: String?)?
    /// Checkpoint every N optimizer steps (0: only at epoch ends and on a stop request).
    public var checkpointEvery: Int
    /// BLAS threads per rank and loader workers per rank.
    public var threads: Int
    public var workers: Int
    /// Seconds between progress lines when standard output is not a terminal.
    public var logInterval: Double
    /// The run directory (`--out`).
    public var outDirectory: String
    /// `--resume`: require a checkpoint.
    public var resume: Bool

    /// Every setting, as `fairtune train` resolved them.
    /// The training augmentation (`--augment`).
    public enum Augmentation: String, CaseIterable, Sendable {
        /// The reference's RandomResizedCrop (area 0.08–1) and horizontal flip: for real data.
        case reference
        /// Horizontal and vertical flips of the whole image (the synthetic study's).
        case flip
        /// None: the whole image resized to the model's size.
        case none
    }
    public var augmentation: Augmentation = .reference
    /// The classifier head learns at this multiple of the rate (the search's `head_lr_multiplier`).
    public var headLearningRateMultiplier = 1.0
    /// The matrix products' library and operand precision (`--gemm`, `--precision`).
    public var gemm = GEMMRequest()

    public init(dataDirectory: String, weightsPath: String, attributes: [String], method: PEFTMethod, mask: String?,
                loraRank: Int, loraAlpha: Float?, learningRate: Double, epochs: Int, globalBatchSize: Int,
                optimizer: OptimizerKind, momentum: Double, nesterov: Bool, rmspropAlpha: Double = 0.9,
                rmspropEpsilon: Double = 0.0316, weightDecay: Double, decayNormsAndBiases: Bool,
                schedule: ScheduleKind, stepSize: Int, gamma: Double, warmupEpochs: Int, warmupStartFactor: Double,
                warmupMethod: WarmupMethod = .linear, minimumLearningRate: Double, labelSmoothing: Double, clipGradNorm: Double?, classWeights: ClassWeightMode,
                normalization: (mean: [Double], std: [Double])? = nil, seed: UInt64, imageSize: Int?, heads: Int?, evaluateTest: Bool, keepBest: (objective: Objective, attribute: String?)?,
                checkpointEvery: Int, threads: Int, workers: Int, logInterval: Double, outDirectory: String, resume: Bool) {
        self.dataDirectory = dataDirectory; self.weightsPath = weightsPath; self.attributes = attributes
        self.method = method; self.mask = mask; self.loraRank = loraRank; self.loraAlpha = loraAlpha
        self.learningRate = learningRate; self.epochs = epochs; self.globalBatchSize = globalBatchSize
        self.optimizer = optimizer; self.momentum = momentum; self.nesterov = nesterov
        self.rmspropAlpha = rmspropAlpha; self.rmspropEpsilon = rmspropEpsilon; self.weightDecay = weightDecay
        self.decayNormsAndBiases = decayNormsAndBiases; self.schedule = schedule; self.stepSize = stepSize
        self.gamma = gamma; self.warmupEpochs = warmupEpochs; self.warmupStartFactor = warmupStartFactor
        self.warmupMethod = warmupMethod
        self.minimumLearningRate = minimumLearningRate; self.labelSmoothing = labelSmoothing
        self.clipGradNorm = clipGradNorm; self.classWeights = classWeights; self.normalization = normalization
        self.seed = seed
        self.imageSize = imageSize; self.heads = heads; self.evaluateTest = evaluateTest; self.keepBest = keepBest
        self.checkpointEvery = checkpointEvery; self.threads = threads; self.workers = workers
        self.logInterval = logInterval; self.outDirectory = outDirectory; self.resume = resume
    }

    /// `--keep-best` as text (`objective[:attribute]`), or nil.
    public var keepBestText: String? {
        keepBest.map { $0.objective.rawValue + ($0.attribute.map { ":" + $0 } ?? "") }
    }

    /// The settings that decide the trained weights and the selection, with their resolved values,
    /// as recorded in config.json: a resumed run must give the same ones.
    /// (Threads, workers, ranks, logging, checkpoint interval and --test do not enter.)
    public func resultDefining(resolvedClassWeights: [Double]?) -> [(String, JSONValue)] {
        [
            ("data", .string(Self.absolute(dataDirectory))),
            ("weights", .string(Self.absolute(weightsPath))),
            ("attributes", .array(attributes.map { .string($0) })),
            ("tuning", .string(method.rawValue)),
            ("mask", mask.map { .string($0) } ?? .null),
            ("lora_rank", method == .lora ? .number(Double(loraRank)) : .null),
            ("lora_alpha", method == .lora ? .number(Double(loraAlpha ?? Float(loraRank))) : .null),
            ("lr", .number(learningRate)),
            ("epochs", .number(Double(epochs))),
            ("batch_size", .number(Double(globalBatchSize))),
            ("optimizer", .string(optimizer.rawValue)),
            ("momentum", optimizer == .sgd || optimizer == .rmsprop ? .number(momentum) : .null),
            ("nesterov", optimizer == .sgd ? .bool(nesterov) : .null),
            ("rmsprop_alpha", optimizer == .rmsprop ? .number(rmspropAlpha) : .null),
            ("rmsprop_eps", optimizer == .rmsprop ? .number(rmspropEpsilon) : .null),
            ("weight_decay", .number(weightDecay)),
            ("decay_norms_and_biases", .bool(decayNormsAndBiases)),
            ("schedule", .string(schedule.rawValue)),
            ("step_size", schedule == .step ? .number(Double(stepSize)) : .null),
            ("gamma", schedule == .step || schedule == .exponential ? .number(gamma) : .null),
            ("min_lr", schedule == .cosine ? .number(minimumLearningRate) : .null),
            ("warmup_epochs", .number(Double(warmupEpochs))),
            ("warmup_start_factor", warmupEpochs > 0 ? .number(warmupStartFactor) : .null),
            ("warmup_method", warmupEpochs > 0 ? .string(warmupMethod.rawValue) : .null),
            ("label_smoothing", .number(labelSmoothing)),
            ("augment", .string(augmentation.rawValue)),
            ("head_lr_multiplier", .number(headLearningRateMultiplier)),
            ("clip_grad_norm", clipGradNorm.map { .number($0) } ?? .null),
            ("class_weights", resolvedClassWeights.map { .array($0.map { .number($0) }) } ?? .string("none")),
            ("normalization", normalization.map { n in
                .object([("mean", .array(n.mean.map { .number($0) })), ("std", .array(n.std.map { .number($0) }))])
            } ?? .string("manifest")),
            ("seed", .number(Double(seed))),
            ("image_size", imageSize.map { .number(Double($0)) } ?? .null),
            ("num_heads", heads.map { .number(Double($0)) } ?? .null),
            ("keep_best", keepBestText.map { .string($0) } ?? .null),
        ] + gemmResultDefining
    }

    /// bf16 operands change the result; so, in the last bits, does the library. Recorded only when
    /// not the default (OpenBLAS f32), so runs from before these options still resume.
    private var gemmResultDefining: [(String, JSONValue)] {
        gemm == GEMMRequest() ? [] : [("precision", .string(gemm.precision.rawValue)),
                                      ("gemm", gemm.library.map { .string($0.rawValue) } ?? .null)]
    }

    /// `path` made absolute against the current directory, so config.json names the files exactly.
    public static func absolute(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.standardizedFileURL.path
    }
}
