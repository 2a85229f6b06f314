import Foundation
import JSON
import Optimization
import SafeTensors
import ViT

/// A resumable training state in one safetensors file (format `fairtune-checkpoint` v1):
/// the trainable tensors under their timm names, the optimizer state, and in the metadata the
/// position (epoch, step), the seed, the running epoch loss, the best epoch so far and
/// fingerprints of the model and the trainable set.
///
/// There is no random-number state beyond the seed: shuffles and augmentations are pure functions
/// of (seed, epoch, sample), so (seed, epoch, step) is the whole RNG state.
///
/// Tensors: `<timm name>` for every trainable view (f32, its shape); `optimizer.<slot>.<buffer>`
/// (f32, 1-D) for every optimizer slot, whose offsets, counts and step counts are in the
/// `optimizer_slots` metadata (`offset:count:step` joined by commas).
public struct TrainingCheckpoint: Equatable {
    /// The format name in the metadata.
    public static let formatName = "fairtune-checkpoint"
    /// The format version in the metadata.
    public static let formatVersion = 1

    /// Where training stands: `epoch` epochs finished (and evaluated), `step` steps of the next one done.
    public struct Position: Equatable, Sendable {
        /// Epochs finished.
        public var epoch: Int
        /// Steps of epoch `epoch` (0-based) done.
        public var step: Int
        /// Optimizer steps since the start of the run.
        public var globalStep: Int
        /// A position; `globalStep` must be `epoch` × steps per epoch + `step`.
        public init(epoch: Int, step: Int, globalStep: Int) {
            self.epoch = epoch
            self.step = step
            self.globalStep = globalStep
        }
    }

    /// Running state that a resumed run needs to continue exactly as an uninterrupted one.
    public struct Progress: Equatable, Sendable {
        /// Sum of the step losses of the current epoch so far, and their count.
        public var epochLossSum: Double = 0
        /// Steps summed in `epochLossSum`.
        public var epochLossSteps: Int = 0
        /// Best epoch (1-based) and value of `--keep-best` so far.
        public var bestEpoch: Int?
        /// The `--keep-best` value of `bestEpoch`.
        public var bestValue: Double?
        /// Seconds spent so far (carried into result.json timings).
        public var trainSeconds: Double = 0
        /// Wall-clock seconds of the run so far, over every session.
        public var wallSeconds: Double = 0
        /// Seconds in validation and test evaluation so far.
        public var evalSeconds: Double = 0
        /// Seconds in the gradient allreduce (packing and unpacking included) so far.
        public var allreduceSeconds: Double = 0
        /// A fresh run's progress.
        public init() {}
    }

    /// Where training stands.
    public var position: Position
    /// Running sums and the best epoch.
    public var progress: Progress
    /// The run's seed (with epoch and step, the whole random state).
    public var seed: UInt64
    /// Fingerprint of the architecture; must match on load.
    public var modelFingerprint: String
    /// Fingerprint of the trainable set; must match on load.
    public var trainableFingerprint: String
    /// The run's result-defining settings and its data (`RunFingerprints`); nil in checkpoints
    /// written before they were recorded.
    public var settings: JSONValue?
    public var dataset: JSONValue?

    /// A fingerprint of the architecture (and LoRA factors) of `layout`.
    public static func fingerprint(of layout: ParameterLayout) -> String {
        let c = layout.config
        return "vit img=\(c.imageSize) patch=\(c.patchSize) channels=\(c.channels) width=\(c.width) depth=\(c.depth) "
            + "heads=\(c.heads) mlp=\(c.mlpWidth) classes=\(c.classes) lora_rank=\(layout.loraRank) "
            + "lora_alpha=\(layout.loraRank > 0 ? "\(layout.loraAlpha)" : "-")"
    }

    /// A fingerprint of what trains: method, mask and the trainable element count.
    public static func fingerprint(method: PEFTMethod, mask: [Bool]?, trainable: TrainableSet) -> String {
        let bits = mask.map { $0.map { $0 ? "1" : "0" }.joined() } ?? "all"
        return "\(method.rawValue) mask=\(bits) trainable=\(trainable.trainableCount)"
    }

    /// A checkpoint description (the tensors come from the model at `write`).
    public init(position: Position, progress: Progress, seed: UInt64, modelFingerprint: String, trainableFingerprint: String,
                settings: JSONValue? = nil, dataset: JSONValue? = nil) {
        self.position = position
        self.progress = progress
        self.seed = seed
        self.modelFingerprint = modelFingerprint
        self.trainableFingerprint = trainableFingerprint
        self.settings = settings
        self.dataset = dataset
    }

    /// Writes the checkpoint of `model`'s trainable tensors and `optimizer`'s state (atomically).
    public func write(to path: String, model: VisionTransformer, optimizer: OptimizerState,
                      extraMetadata: [String: String] = [:]) throws(TrainingError) {
        var meta = extraMetadata
        meta["format"] = Self.formatName
        meta["version"] = String(Self.formatVersion)
        meta["model"] = modelFingerprint
        meta["trainable"] = trainableFingerprint
        meta["epoch"] = String(position.epoch)
        meta["step"] = String(position.step)
        meta["global_step"] = String(position.globalStep)
        meta["seed"] = String(seed)
        if let settings { meta["settings"] = settings.compactRendered() }
        if let dataset { meta["dataset"] = dataset.compactRendered() }
        meta["epoch_loss_sum"] = Self.exact(progress.epochLossSum)
        meta["epoch_loss_steps"] = String(progress.epochLossSteps)
        if let e = progress.bestEpoch, let v = progress.bestValue {
            meta["best_epoch"] = String(e)
            meta["best_value"] = Self.exact(v)
        }
        meta["wall_seconds"] = Self.exact(progress.wallSeconds)
        meta["train_seconds"] = Self.exact(progress.trainSeconds)
        meta["eval_seconds"] = Self.exact(progress.evalSeconds)
        meta["allreduce_seconds"] = Self.exact(progress.allreduceSeconds)
        meta["optimizer"] = optimizer.optimizer
        meta["optimizer_slots"] = optimizer.slots.map { "\($0.offset):\($0.count):\($0.step)" }.joined(separator: ",")
        var writer = SafeTensorsWriter(metadata: meta)
        for (index, view) in model.layout.views.enumerated() where model.trainable.contains(index) {
            writer.add(view.name, shape: view.shape, floats: UnsafeBufferPointer(start: model.parameter(index), count: view.count))
        }
        for (s, slot) in optimizer.slots.enumerated() {
            for name in slot.buffers.keys.sorted() {
                writer.add("optimizer.\(s).\(name)", shape: [slot.count], floats: slot.buffers[name]!)
            }
        }
        do { try writer.write(to: path) } catch { throw .runFile(path: path, message: error.description) }
    }

    /// Reads a checkpoint, checks it belongs to `model` (architecture, trainable set, every tensor's
    /// shape), copies its trainable tensors into `model` and returns it with the optimizer state.
    /// - Throws: `TrainingError.checkpointMismatch` naming the setting or tensor that differs.
    public static func read(path: String, model: VisionTransformer, trainableFingerprint: String)
        throws(TrainingError) -> (TrainingCheckpoint, OptimizerState) {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(path: path)
            try file.requireFinite()
        } catch { throw .checkpointMismatch(path: path, message: error.description) }
        let checkpoint = try header(file)
        let modelPrint = fingerprint(of: model.layout)
        guard checkpoint.modelFingerprint == modelPrint else {
            throw .checkpointMismatch(path: path, message: "written for another model (\(checkpoint.modelFingerprint)); "
                + "this run's model is \(modelPrint)")
        }
        guard checkpoint.trainableFingerprint == trainableFingerprint else {
            throw .checkpointMismatch(path: path, message: "written for another trainable set (\(checkpoint.trainableFingerprint)); "
                + "this run trains \(trainableFingerprint)")
        }
        try readTensors(file, into: model)
        return (checkpoint, try optimizerState(file))
    }

    /// The checkpoint's description from its metadata alone (no tensors read).
    /// - Throws: `TrainingError.checkpointMismatch` for another format or a missing or damaged entry.
    public static func header(_ file: SafeTensorsFile) throws(TrainingError) -> TrainingCheckpoint {
        let meta = file.metadata
        func fail(_ message: String) -> TrainingError { .checkpointMismatch(path: file.path, message: message) }
        guard meta["format"] == formatName else {
            throw fail("not a fairtune training checkpoint (metadata format is '\(meta["format"] ?? "absent")', expected '\(formatName)')")
        }
        guard meta["version"] == String(formatVersion) else {
            throw fail("checkpoint format version \(meta["version"] ?? "absent"); this fairtune reads version \(formatVersion)")
        }
        func int(_ key: String) throws(TrainingError) -> Int {
            guard let text = meta[key], let v = Int(text), v >= 0 else { throw fail("metadata '\(key)' is missing or not a count") }
            return v
        }
        func double(_ key: String) throws(TrainingError) -> Double {
            guard let text = meta[key], let v = parseExact(text) else { throw fail("metadata '\(key)' is missing or not a number") }
            return v
        }
        func json(_ key: String) throws(TrainingError) -> JSONValue? {
            guard let text = meta[key] else { return nil }
            do { return try JSONValue.parse(text) } catch { throw fail("metadata '\(key)' is not JSON: \(error)") }
        }
        let position = Position(epoch: try int("epoch"), step: try int("step"), globalStep: try int("global_step"))
        guard let seedText = meta["seed"], let seed = UInt64(seedText) else { throw fail("metadata 'seed' is missing") }
        var progress = Progress()
        progress.epochLossSum = try double("epoch_loss_sum")
        progress.epochLossSteps = try int("epoch_loss_steps")
        if meta["best_epoch"] != nil {
            progress.bestEpoch = try int("best_epoch")
            progress.bestValue = try double("best_value")
        }
        progress.wallSeconds = try double("wall_seconds")
        progress.trainSeconds = try double("train_seconds")
        progress.evalSeconds = try double("eval_seconds")
        progress.allreduceSeconds = try double("allreduce_seconds")
        return TrainingCheckpoint(position: position, progress: progress, seed: seed, modelFingerprint: meta["model"] ?? "unknown",
                                  trainableFingerprint: meta["trainable"] ?? "unknown", settings: try json("settings"),
                                  dataset: try json("dataset"))
    }

    /// Every trainable tensor present with its shape, nothing else of the model's, copied into `model`.
    private static func readTensors(_ file: SafeTensorsFile, into model: VisionTransformer) throws(TrainingError) {
        func fail(_ message: String) -> TrainingError { .checkpointMismatch(path: file.path, message: message) }
        var expected = Set<String>()
        for (index, view) in model.layout.views.enumerated() where model.trainable.contains(index) {
            expected.insert(view.name)
            guard let info = file.info(view.name) else { throw fail("missing trainable tensor '\(view.name)'") }
            guard info.shape == view.shape else {
                throw fail("tensor '\(view.name)' has shape \(info.shape); this model's is \(view.shape)")
            }
            do {
                try file.readFloats(view.name, into: UnsafeMutableBufferPointer(start: model.parameter(index), count: view.count))
            } catch { throw fail(error.description) }
        }
        for t in file.tensors where !t.name.hasPrefix("optimizer.") && !expected.contains(t.name) {
            throw fail("tensor '\(t.name)' is not trainable in this run (another --tuning or --mask?)")
        }
    }

    /// The optimizer's slots: `optimizer_slots` metadata and the `optimizer.<slot>.<buffer>` tensors.
    private static func optimizerState(_ file: SafeTensorsFile) throws(TrainingError) -> OptimizerState {
        func fail(_ message: String) -> TrainingError { .checkpointMismatch(path: file.path, message: message) }
        guard let optimizerName = file.metadata["optimizer"] else { throw fail("metadata 'optimizer' is missing") }
        var slots: [OptimizerState.Slot] = []
        let slotText = file.metadata["optimizer_slots"] ?? ""
        for (s, item) in slotText.split(separator: ",").enumerated() {
            let parts = item.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 3 else { throw fail("metadata 'optimizer_slots' entry '\(item)' is not offset:count:step") }
            var buffers: [String: [Float]] = [:]
            for t in file.tensors where t.name.hasPrefix("optimizer.\(s).") {
                let name = String(t.name.dropFirst("optimizer.\(s).".count))
                do { buffers[name] = try file.floats(t.name) } catch { throw fail(error.description) }
            }
            slots.append(.init(offset: parts[0], count: parts[1], step: parts[2], buffers: buffers))
        }
        return OptimizerState(optimizer: optimizerName, slots: slots)
    }

    /// A Double as text that reads back to the same bits (the bit pattern in hex).
    static func exact(_ x: Double) -> String { "0x" + String(x.bitPattern, radix: 16) }

    /// Reads `exact`'s text (or a plain decimal).
    static func parseExact(_ text: String) -> Double? {
        if text.hasPrefix("0x"), let bits = UInt64(text.dropFirst(2), radix: 16) { return Double(bitPattern: bits) }
        return Double(text)
    }
}
