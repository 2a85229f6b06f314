import Foundation
import JSON
import ViT

/// `fairtune export`: the whole fine-tuned model of a run directory as one timm state dict.
public enum RunExport {
    /// Rebuilds the run's model from config.json (the pretrained weights, the seeded head, the
    /// trainable set), loads the trainable tensors of `checkpoint.safetensors` (or
    /// `checkpoint-best.safetensors` with `best`), and writes every tensor under its timm name,
    /// LoRA merged into qkv, atomically to `path`.
    /// - Returns: the checkpoint's position (epochs finished).
    @discardableResult
    public static func export(runDirectory: String, best: Bool, to path: String) throws -> TrainingCheckpoint.Position {
        let files = RunFiles(directory: runDirectory)
        guard let config = try RunFiles.readObject(files.config) else {
            throw TrainingError.runFile(path: files.config, message: "missing: \(runDirectory) is not a fairtune train run directory")
        }
        guard let settings = config["settings"], let model = config["model"],
              let weights = settings["weights"]?.stringValue, let tuning = settings["tuning"]?.stringValue,
              let classes = model["classes"]?.intValue, let seed = settings["seed"]?.intValue else {
            throw TrainingError.runFile(path: files.config, message: "lacks settings.weights, settings.tuning, settings.seed or model.classes")
        }
        let method = try PEFTMethod(name: tuning)
        let loraRank = settings["lora_rank"]?.intValue ?? 0
        let loraAlpha = settings["lora_alpha"]?.doubleValue.map { Float($0) }
        let (vit, _) = try PretrainedWeights.load(path: weights, options: .init(
            heads: settings["num_heads"]?.intValue, imageSize: settings["image_size"]?.intValue, classes: classes,
            loraRank: loraRank, loraAlpha: loraAlpha, seed: UInt64(seed)))
        let mask = try settings["mask"]?.stringValue.map { text throws(ViTError) in
            try PEFTMask(text, method: method, depth: vit.config.depth).bits
        }
        let trainable = try TrainableSet(layout: vit.layout, method: method, mask: mask)
        vit.setTrainable(trainable)
        let source = best ? files.bestCheckpoint : files.checkpoint
        guard FileManager.default.fileExists(atPath: source) else {
            throw TrainingError.runFile(path: source, message: best ? "missing: the run kept no best epoch (train with --keep-best)"
                                                                     : "missing: the run has no checkpoint yet")
        }
        let (checkpoint, _) = try TrainingCheckpoint.read(
            path: source, model: vit, trainableFingerprint: TrainingCheckpoint.fingerprint(method: method, mask: mask, trainable: trainable))
        try PretrainedWeights.save(vit, to: path, mergeLoRA: true, metadata: [
            "generator": "fairtune export", "run_epochs": String(checkpoint.position.epoch),
            "run_step": String(checkpoint.position.step),
        ])
        return checkpoint.position
    }
}
