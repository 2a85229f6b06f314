import Dataset
import Foundation
import Metrics
import Optimization
import ViT

/// The pieces `Trainer.init` checks and builds, each from the settings and the data alone.
extension Trainer {
    /// The dataset's index of each `--attribute`.
    static func attributeIndices(_ settings: TrainingSettings, known: [String]) throws(TrainingError) -> [Int] {
        if settings.attributes.isEmpty && !known.isEmpty {
            throw .invalidSetting(setting: "attribute", message: "the dataset \(settings.dataDirectory) has sensitive attributes "
                + "(\(known.joined(separator: ", "))); name at least one with --attribute")
        }
        let indices = try settings.attributes.map { name throws(TrainingError) in
            guard let i = known.firstIndex(of: name) else {
                throw .invalidSetting(setting: "attribute", message: "the dataset \(settings.dataDirectory) has no attribute '\(name)'; "
                    + (known.isEmpty ? "it has none" : "it has: \(known.joined(separator: ", "))"))
            }
            return i
        }
        guard Set(settings.attributes).count == settings.attributes.count else {
            throw .invalidSetting(setting: "attribute", message: "an attribute is given twice: \(settings.attributes)")
        }
        return indices
    }

    /// `--keep-best OBJECTIVE[:ATTRIBUTE]`: an attribute exactly when the objective compares groups.
    static func checkKeepBest(_ settings: TrainingSettings) throws(TrainingError) {
        guard let best = settings.keepBest else { return }
        if best.objective.needsAttribute {
            guard let a = best.attribute else {
                throw .invalidSetting(setting: "keep-best", message: "\(best.objective.rawValue) compares groups; "
                    + "write \(best.objective.rawValue):ATTRIBUTE with one of the --attribute names")
            }
            guard settings.attributes.contains(a) else {
                throw .invalidSetting(setting: "keep-best", message: "attribute '\(a)' is not among the "
                    + "--attribute names (\(settings.attributes.joined(separator: ", ")))")
            }
        } else if best.attribute != nil {
            throw .invalidSetting(setting: "keep-best", message: "\(best.objective.rawValue) is overall; it takes no attribute")
        }
    }

    /// The pretrained weights with a fresh head of the task's classes (seeded) and the trainable
    /// set of the settings.
    static func loadModel(_ settings: TrainingSettings, classes: Int, trainSplit: DatasetSplit,
                          warn: (String) -> Void) throws
        -> (model: VisionTransformer, trainableFingerprint: String, normalization: (mean: [Double], std: [Double])?) {
        let (model, report) = try PretrainedWeights.load(path: settings.weightsPath, options: .init(
            heads: settings.heads, imageSize: settings.imageSize, classes: classes,
            loraRank: settings.method == .lora ? settings.loraRank : 0,
            loraAlpha: settings.method == .lora ? settings.loraAlpha : nil, seed: settings.seed))
        guard model.config.channels == 3 else {
            throw TrainingError.invalidSetting(setting: "weights", message: "the model takes \(model.config.channels) channels; "
                + "prepared datasets hold RGB images (3 channels)")
        }
        let maskBits = try settings.mask.map { text throws(ViTError) in
            try PEFTMask(text, method: settings.method, depth: model.config.depth).bits
        }
        let trainable = try TrainableSet(layout: model.layout, method: settings.method, mask: maskBits)
        model.setTrainable(trainable)
        let size = model.config.imageSize, stored = max(trainSplit.imageHeight, trainSplit.imageWidth)
        if stored * 2 < size || stored > size * 2 {
            warn("warning: the dataset's images are \(trainSplit.imageHeight)x\(trainSplit.imageWidth) and the model "
                + "takes \(size)x\(size); the transforms resize them, but a size this different loses detail or wastes compute")
        }
        let fingerprint = TrainingCheckpoint.fingerprint(method: settings.method, mask: maskBits, trainable: trainable)
        return (model, fingerprint, report.normalization)
    }

    /// `--class-weights`: none, inverse frequency of the training split, or one weight per class.
    static func resolveClassWeights(_ settings: TrainingSettings, trainSplit: DatasetSplit,
                                    classNames: [String]) throws -> [Double]? {
        switch settings.classWeights {
        case .none: return nil
        case .auto: return try ClassWeights.inverseFrequency(counts: trainSplit.classCounts(classCount: classNames.count))
        case let .explicit(w):
            guard w.count == classNames.count else {
                throw TrainingError.invalidSetting(setting: "class-weights", message: "\(w.count) weights given; the task has "
                    + "\(classNames.count) classes (\(classNames.joined(separator: ", ")))")
            }
            return w
        }
    }

    static func makeOptimizer(_ settings: TrainingSettings) throws -> Optimizer {
        switch settings.optimizer {
        case .sgd: return try SGD(momentum: settings.momentum, nesterov: settings.nesterov)
        case .adamw: return try AdamW()
        case .rmsprop:
            return try RMSprop(alpha: settings.rmspropAlpha, epsilon: settings.rmspropEpsilon, momentum: settings.momentum)
        }
    }

    /// The learning rate per epoch: warmup, then the decay of `--schedule`.
    static func makeSchedule(_ settings: TrainingSettings) throws -> LearningRateSchedule {
        let decay: LearningRateSchedule.Decay
        switch settings.schedule {
        case .constant: decay = .constant
        case .step: decay = .step(size: settings.stepSize, gamma: settings.gamma)
        case .exponential: decay = .exponential(gamma: settings.gamma)
        case .cosine:
            guard settings.epochs > settings.warmupEpochs else {
                throw TrainingError.invalidSetting(setting: "warmup-epochs", message: "the cosine schedule needs more epochs "
                    + "(\(settings.epochs)) than warmup epochs (\(settings.warmupEpochs))")
            }
            decay = .cosine(minimum: settings.minimumLearningRate)
        }
        return try LearningRateSchedule(
            baseLearningRate: settings.learningRate, decay: decay,
            warmup: .init(steps: settings.warmupEpochs, startFactor: settings.warmupStartFactor,
                          kind: settings.warmupMethod == .constant ? .constant : .linear),
            totalSteps: settings.epochs)
    }

    /// Refuses a setting whose training step cannot fit in memory, before anything is allocated.
    static func checkMemory(model: VisionTransformer, localBatch: Int, settings: TrainingSettings) throws(TrainingError) {
        let need = VisionTransformer.trainingBytesUpperBound(layout: model.layout, batch: localBatch)
        guard let limit = MemoryLimit.availableBytes(), need > limit else { return }
        throw .invalidSetting(setting: settings.imageSize != nil ? "image-size" : "batch-size", message:
            "a training step on \(localBatch) images of \(model.config.imageSize)x\(model.config.imageSize) "
            + "(\(model.config.tokens) tokens) needs up to \(MemoryLimit.gib(need)); this process may use \(MemoryLimit.gib(limit)). "
            + "Lower --batch-size or --image-size, or run on more ranks")
    }
}
