import Arguments
import FileOutput
import RunLock
import Training

/// `fairtune export`: a training run's fine-tuned model as a timm state dict in safetensors.
let exportCommand = Command(CommandSpec(
    name: "fairtune export",
    summary: """
        Write the whole fine-tuned model of a `fairtune train` run directory with timm's tensor names
        (LoRA merged into qkv), loadable by `timm.create_model(..., num_classes=K)` and
        `load_state_dict`. Uses the run's last checkpoint, or with --best the best epoch's.
        """,
    options: [
        .value("out", "PATH", "output safetensors (written atomically)", required: true),
        .flag("best", "export checkpoint-best.safetensors (needs a run with --keep-best)"),
    ],
    positionals: [PositionalSpec("RUN_DIR", "run directory of fairtune train")]
)) { args in
    let runDirectory = args.positionals[0]
    let out = try args.requiredString("out")
    try OutputPath.check(output: out, protected: runOwnedFiles(runDirectory), option: "--out")
    let position = try RunExport.export(runDirectory: runDirectory, best: args.flag("best"), to: out)
    print("\(out): the model after \(position.epoch) epoch(s)\(position.step > 0 ? " and \(position.step) step(s)" : "")")
    return ExitStatus.success
}

/// Every file a run directory owns, so no output replaces one of them.
func runOwnedFiles(_ directory: String) -> [OutputPath.Protected] {
    let files = RunFiles(directory: directory)
    return [
        .init(role: "the run's resumable checkpoint", path: files.checkpoint),
        .init(role: "the run's best-epoch checkpoint", path: files.bestCheckpoint),
        .init(role: "the run's config.json", path: files.config),
        .init(role: "the run's metrics.jsonl", path: files.metrics),
        .init(role: "the run's result.json", path: files.result),
        .init(role: "the run's validation predictions", path: files.predictions("val")),
        .init(role: "the run's test predictions", path: files.predictions("test")),
        .init(role: "the run's lock file", path: directory + "/" + RunDirectoryLock.fileName),
    ]
}
