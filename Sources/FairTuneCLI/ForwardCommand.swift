import Arguments
import FileOutput
import Foundation
import SafeTensors
import ViT

/// `fairtune forward`: one batch through a timm checkpoint; with labels also the loss and the
/// gradient of every trainable tensor. The output is what the PyTorch fixtures hold, so any run
/// can be checked against timm.
let forwardCommand = Command(CommandSpec(
    name: "fairtune forward",
    summary: """
        Run a timm ViT checkpoint on an image batch and write its logits; with --labels also the
        mean cross-entropy `loss` (PyTorch's weighted-mean semantics) and `grad.<timm name>` of
        every trainable tensor.
        """,
    options: [
        .value("weights", "PATH", "timm ViT weights (safetensors with timm's tensor names)", required: true),
        .value("input", "PATH", "safetensors holding tensor x: (B, 3, H, W) images, f32", required: true),
        .value("out", "PATH", "output safetensors (written atomically)", required: true),
        .value("labels", "PATH", "safetensors holding tensor labels: (B) int64 class indices"),
        .value("num-heads", "N", "attention heads (default: the file's num_heads metadata, else width / 64)"),
        .value("class-weights", "W,W,...", "one loss weight per class"),
        .value("label-smoothing", "EPS", "label smoothing of the loss", default: "0"),
    ] + TuningOptions.specs
)) { args in
    let out = try args.requiredString("out")
    try OutputPath.check(output: out, protected: [
        .init(role: "--weights", path: try args.requiredString("weights")),
        .init(role: "--input", path: try args.requiredString("input")),
    ] + (args.string("labels").map { [.init(role: "--labels", path: $0)] } ?? []), option: "--out")
    let method = try TuningOptions.method(args)
    let lora = try TuningOptions.lora(args, method: method)
    let input = try SafeTensorsFile(path: try args.requiredString("input"))
    guard let xInfo = input.info("x") else {
        throw ViTCommandError(description: "\(input.path): no tensor 'x' (expected images of shape (B, 3, H, W))")
    }
    guard xInfo.shape.count == 4, xInfo.shape[2] == xInfo.shape[3], xInfo.shape[0] > 0 else {
        throw ViTCommandError(description: "\(input.path): tensor 'x' has shape \(xInfo.shape); expected (B, C, H, H)")
    }
    let batch = xInfo.shape[0]
    let (model, _) = try PretrainedWeights.load(path: try args.requiredString("weights"), options: .init(
        heads: try args.int("num-heads", in: 1...4096), imageSize: xInfo.shape[2], loraRank: lora.rank,
        loraAlpha: lora.alpha))
    guard xInfo.shape[1] == model.config.channels else {
        throw ViTCommandError(description: "\(input.path): tensor 'x' has \(xInfo.shape[1]) channels; the model takes \(model.config.channels)")
    }
    // Checked even without labels, so a bad --tuning/--mask never passes silently.
    model.setTrainable(try TuningOptions.trainableSet(args, method: method, layout: model.layout))
    let images = try input.floats("x")
    var writer = SafeTensorsWriter(metadata: ["generator": "fairtune forward \(fairtuneVersion)"])
    if let labelsPath = args.string("labels") {
        let labelFile = try SafeTensorsFile(path: labelsPath)
        guard let info = labelFile.info("labels"), info.shape == [batch] else {
            throw ViTCommandError(description: "\(labelsPath): expected tensor 'labels' of shape [\(batch)] (one per image)")
        }
        let labels = try labelFile.int64s("labels").map { Int32(clamping: $0) }
        let classWeights = try args.string("class-weights").map { text in
            let values = text.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == model.config.classes, values.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                let negative = values.first { !($0.isFinite && $0 >= 0) }.map { " (\($0) is not)" } ?? ""
                throw ViTCommandError(description: "--class-weights '\(text)': expected \(model.config.classes) finite numbers >= 0, one per class\(negative)")
            }
            return values
        }
        let smoothing = Float(try args.double("label-smoothing", in: 0...1)!)
        model.zeroGradients()
        let loss = try images.withUnsafeBufferPointer { x in
            try labels.withUnsafeBufferPointer { y in
                try (classWeights ?? []).withUnsafeBufferPointer { w in
                    try model.lossAndGradients(images: x.baseAddress!, labels: y.baseAddress!, batch: batch,
                                               classWeights: classWeights == nil ? nil : w.baseAddress,
                                               labelSmoothing: smoothing).mean
                }
            }
        }
        writer.add("loss", shape: [1], floats: [loss])
        for (index, view) in model.layout.views.enumerated() where model.trainable.contains(index) {
            writer.add("grad.\(view.name)", shape: view.shape,
                       floats: UnsafeBufferPointer(start: model.gradients.base + view.offset, count: view.count))
        }
        printError("loss \(loss); trainable \(model.trainable.trainableCount) of \(model.trainable.totalCount) parameters")
    }
    let logits = images.withUnsafeBufferPointer { x in
        Array(model.forward(images: x.baseAddress!, batch: batch, keepActivations: false))
    }
    writer.add("logits", shape: [batch, model.config.classes], floats: logits)
    try writer.write(to: out)
    return ExitStatus.success
}
