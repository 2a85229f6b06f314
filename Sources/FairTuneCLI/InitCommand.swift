import Arguments
import ViT

/// `fairtune init`: the random starting weights of an architecture, as timm initialises them.
let initCommand = Command(CommandSpec(
    name: "fairtune init",
    summary: """
        Write randomly initialised ViT weights (timm's initialisation and tensor names) for a named
        timm architecture or explicit sizes, loadable by `timm.create_model` with the same arguments
        and usable as --weights (to pretrain a backbone with `fairtune train --tuning full`, or for
        smoke tests).
        """,
    options: [
        .value("model", "NAME", "a timm name: vit_{tiny,small,base,large}_patch{16,32}_{224,384} (or give the sizes below)"),
        .value("img-size", "PX", "image size (without --model)"),
        .value("patch-size", "PX", "patch size (without --model)"),
        .value("width", "C", "embedding width (without --model)"),
        .value("depth", "L", "blocks (without --model)"),
        .value("heads", "H", "attention heads (without --model)"),
        .value("classes", "K", "classifier outputs", default: "1000"),
        .value("seed", "S", "seeds the initialisation", default: "0"),
        .value("out", "PATH", "output safetensors (written atomically)", required: true),
    ]
)) { args in
    let config = try initConfig(args)
    let model = VisionTransformer(layout: ParameterLayout(config: config))
    ViTInitialization.randomize(model, seed: UInt64(try args.int("seed", in: 0...(1 << 53))!))
    let out = try args.requiredString("out")
    try PretrainedWeights.save(model, to: out, metadata: ["generator": "fairtune init", "img_size": String(config.imageSize)])
    print("\(out): \(config), \(model.layout.count) parameters")
    return ExitStatus.success
}

/// The architecture of `--model`, or of the five size options together.
private func initConfig(_ args: ParsedArguments) throws -> ViTConfig {
    let classes = try args.int("classes", in: 1...100_000)!
    let sizes = ["img-size", "patch-size", "width", "depth", "heads"]
    if let name = args.string("model") {
        if let given = sizes.first(where: { args.string($0) != nil }) {
            throw ArgumentError.invalidValue(command: args.spec.name, option: "--\(given)", value: args.string(given)!,
                                             expected: "no size option with --model \(name)")
        }
        return try ViTConfig.timm(name, classes: classes)
    }
    for option in sizes where args.string(option) == nil {
        throw ArgumentError.missingRequired(command: args.spec.name, option: option)
    }
    let config = ViTConfig(imageSize: try args.int("img-size", in: 1...8192)!, patchSize: try args.int("patch-size", in: 1...1024)!,
                           width: try args.int("width", in: 1...65536)!, depth: try args.int("depth", in: 1...1024)!,
                           heads: try args.int("heads", in: 1...1024)!, classes: classes)
    try config.validate()
    return config
}
