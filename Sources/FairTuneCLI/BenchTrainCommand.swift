import Arguments
import Foundation
import Randomness
import Tensor
import Training
import ViT

/// `fairtune bench train`: images/s, GFLOP/s and peak memory of inference and training steps of a
/// timm-shaped ViT with random weights, beside the sgemm ceiling measured in the same run.
let benchTrainCommand = Command(CommandSpec(
    name: "fairtune bench train",
    summary: """
        Time inference and training steps of a ViT (random weights, random images): images/s,
        achieved GFLOP/s (matrix products only), its ratio to the sgemm ceiling measured in the same
        run, and peak resident memory (VmHWM, reset before each mode). Without --tuning it runs
        inference, full fine-tuning, and block-parts4 (auto_peft2) training the last half of the blocks
        and the last block only (which must cost little more than inference: frozen layers are free).
        """,
    options: [
        .value("model", "NAME", "vit_{tiny,small,base,large}_patch{16,32}_{224,384}", default: "vit_small_patch16_224"),
        .value("batch-size", "B", "images per step", default: "32"),
        .value("steps", "N", "timed steps per mode (after one warm-up step)", default: "3"),
        .value("classes", "K", "classifier outputs", default: "2"),
        .value("threading", "MODE", "own: OpenBLAS single-threaded and fairtune's workers split every product; "
            + "blas: OpenBLAS threads each product", default: "own"),
        .value("ranks", "N", "time the data-parallel step over N MPI ranks instead (step time, allreduce share; re-launches under mpirun)"),
        .value("threads", "T", "with --ranks: BLAS threads per rank (default: cores / N)"),
        .flag("profile", "also print, per mode, the time of every kernel by kind and shape (ms per step, share of "
            + "the step, GFLOP/s of the products) and what ran outside them"),
    ] + GEMMOptions.specs(defaultPrecision: .auto) + TuningOptions.specs
)) { args in
    if let ranks = try args.int("ranks", in: 1...1024) {
        guard !args.flag("profile") else {
            throw ViTCommandError(description: "--profile times the kernels of one process; run it without --ranks")
        }
        return try benchTrainRanks(args, ranks: ranks)
    }
    let config = try ViTConfig.timm(try args.requiredString("model"), classes: try args.int("classes", in: 1...100_000)!)
    let batch = try args.int("batch-size", in: 1...4096)!
    let steps = try args.int("steps", in: 1...10_000)!
    let method = try TuningOptions.method(args)
    let lora = try TuningOptions.lora(args, method: method)
    let threads = BLASRuntime.threads
    let threading = try args.choice("threading", ["own", "blas"])!
    let layout = ParameterLayout(config: config, loraRank: lora.rank, loraAlpha: lora.alpha ?? 8)

    let modes = try benchModes(args, method: method, layout: layout)

    var generator = SeededRandom(seed: 2)
    let pixels = batch * config.channels * config.imageSize * config.imageSize
    let images = (0..<pixels).map { _ in generator.normal() }
    let labels = (0..<batch).map { Int32($0 % config.classes) }
    let request = try GEMMOptions.request(args)
    let candidates = try request.candidates(bf16Available: GEMMSelection.onednnBF16Kernel != nil)
    // The choice is measured on the threads the steps run on; the ceiling with the library's own threads.
    if threading == "own" { ParallelRows.useOwnThreads(threads) }
    let workload = GEMMSelection.Workload(batch: batch, tokens: config.tokens, width: config.width,
                                          mlpWidth: config.mlpWidth, heads: config.heads)
    let choice = try GEMMChoice.resolve(candidates: candidates, workload: workload, threads: threads, cacheFile: nil)
    ParallelRows.useBLASThreads()
    // The ceiling is the best of a measurement before and one after the modes: on a shared
    // machine a single measurement can land in a busy moment.
    func measureCeiling() -> Double {
        GEMMBenchmark.run(m: batch * config.tokens, n: config.mlpWidth, k: config.width,
                          transA: .none, transB: .transposed, repeats: 3, mode: choice.modes.linear).best
    }
    var ceiling = measureCeiling()
    print("model \(args.string("model")!) (\(config)), batch \(batch), \(steps) timed steps per mode")
    print("BLAS core \(BLASRuntime.coreName), \(threads) threads, threading \(threading); CPU \(CPUInfo.current().modelName)")
    print("GEMM (--gemm/--precision \(request.description)): \(choice.summary)")
    var rows: [BenchRow] = []
    if threading == "own" { ParallelRows.useOwnThreads(threads) }
    defer { ParallelRows.useBLASThreads() }
    for mode in modes {
        let row = try images.withUnsafeBufferPointer { x in
            try labels.withUnsafeBufferPointer { y in
                try timeMode(mode, layout: layout, gemmModes: choice.modes, images: x.baseAddress!, labels: y.baseAddress!,
                             batch: batch, steps: steps, profiles: args.flag("profile"))
            }
        }
        rows.append(row)
    }
    ParallelRows.useBLASThreads()
    ceiling = max(ceiling, measureCeiling())
    print("\(choice.modes.linear) ceiling " + String(format: "(%dx%dx%d NT, best of before and after): %.1f GFLOP/s",
                                                     batch * config.tokens, config.mlpWidth, config.width, ceiling))
    print("mode                                trainable params        img/s  GFLOP/img   GFLOP/s  of ceiling  peak MiB")
    for row in rows {
        let gflops = row.flopsPerImage * row.imagesPerSecond / 1e9
        print(row.label.padding(toLength: 36, withPad: " ", startingAt: 0)
              + row.params.padding(toLength: 20, withPad: " ", startingAt: 0)
              + String(format: "%9.2f  %9.2f  %8.1f  %9.0f%%  %8.0f", row.imagesPerSecond, row.flopsPerImage / 1e9, gflops,
                       100 * gflops / ceiling, row.peak))
    }
    for row in rows { if let profile = row.profile { printProfile(profile, of: row, steps: steps, ceiling: ceiling) } }
    return ExitStatus.success
}

/// A benchmarked mode: a label and the trainable set (nil: inference).
private struct BenchMode {
    var label: String
    var trainable: TrainableSet?
}

/// One mode's measurements.
private struct BenchRow {
    var label: String
    var params: String
    var imagesPerSecond: Double
    var flopsPerImage: Double
    var peak: Double
    /// The mean time of a step.
    var stepSeconds: Double
    /// With --profile: the kernels' totals over the timed steps.
    var profile: [KernelProfile.Site: KernelProfile.Totals]?
}

/// The `--tuning` given, or inference, full fine-tuning and block-parts4 on the last half of the
/// blocks and on the last block.
private func benchModes(_ args: ParsedArguments, method: PEFTMethod?, layout: ParameterLayout) throws -> [BenchMode] {
    if method != nil {
        return [BenchMode(label: "train " + (args.string("tuning") ?? ""),
                          trainable: try TuningOptions.trainableSet(args, method: method, layout: layout))]
    }
    let depth = layout.config.depth
    func lastBlocks(_ count: Int) -> [Bool] {
        (0..<depth).flatMap { i in [Bool](repeating: i >= depth - count, count: 4) }
    }
    return [BenchMode(label: "inference", trainable: nil),
            BenchMode(label: "full fine-tuning", trainable: try TrainableSet(layout: layout, method: .full)),
            BenchMode(label: "block-parts4 last \(depth - depth / 2) blocks",
                      trainable: try TrainableSet(layout: layout, method: .parts4, mask: lastBlocks(depth - depth / 2))),
            BenchMode(label: "block-parts4 last block",
                      trainable: try TrainableSet(layout: layout, method: .parts4, mask: lastBlocks(1)))]
}

/// Times `steps` steps of one mode (after a warm-up step) on a fresh model, built after the last one
/// is freed and the heap trimmed, so its peak holds this mode's weights, gradients and activations only.
private func timeMode(_ mode: BenchMode, layout: ParameterLayout, gemmModes: GEMMModes, images: UnsafePointer<Float>,
                      labels: UnsafePointer<Int32>, batch: Int, steps: Int, profiles: Bool) throws -> BenchRow {
    PeakMemory.trimHeap()
    PeakMemory.reset()
    let model = VisionTransformer(layout: layout)
    ViTInitialization.randomize(model, seed: 1)
    model.gemmModes = gemmModes
    if let trainable = mode.trainable { model.setTrainable(trainable) }
    let flopsPerImage = mode.trainable == nil ? model.forwardFLOPsPerImage : model.trainingStepFLOPsPerImage
    var seconds: [Double] = []
    for step in 0...steps {
        if step == 1 && profiles { KernelProfile.start() }
        let start = DispatchTime.now().uptimeNanoseconds
        if mode.trainable == nil {
            _ = model.forward(images: images, batch: batch, keepActivations: false)
        } else {
            model.zeroGradients()
            try model.lossAndGradients(images: images, labels: labels, batch: batch)
        }
        if step > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
    }
    let profile = profiles ? KernelProfile.stop() : nil
    let mean = seconds.reduce(0, +) / Double(seconds.count)
    let params = mode.trainable.map { String(format: "%d (%.1f%%)", $0.trainableCount, $0.trainablePercent) } ?? "0"
    return BenchRow(label: mode.label, params: params, imagesPerSecond: Double(batch) / mean, flopsPerImage: flopsPerImage,
                    peak: PeakMemory.peakMiB, stepSeconds: mean, profile: profile)
}

/// `--profile`'s table for one mode: every kernel site by its time per step, then the rest of the
/// step (the embedding, loss, copies of the stream and the calls' own overhead).
private func printProfile(_ profile: [KernelProfile.Site: KernelProfile.Totals], of row: BenchRow, steps: Int,
                          ceiling: Double) {
    func column(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
    let stepMilliseconds = row.stepSeconds * 1000
    print(String(format: "\nprofile of %@: a step of %.1f ms; GFLOP/s of each site's products (ceiling %.0f)",
                 row.label, stepMilliseconds, ceiling))
    print(column("kernel", 46) + column("shape", 24) + " calls   ms/step  of step  GFLOP/s")
    var inKernels = 0.0
    for (site, totals) in profile.sorted(by: { $0.value.seconds > $1.value.seconds }) {
        let milliseconds = totals.seconds * 1000 / Double(steps)
        inKernels += milliseconds
        let gflops = totals.flops > 0 ? String(format: "%8.0f", totals.flops / totals.seconds / 1e9) : "       -"
        print(column(site.kernel, 46) + column(site.shape, 24)
              + String(format: "%6d  %8.1f  %6.1f%%", totals.calls / steps, milliseconds, 100 * milliseconds / stepMilliseconds)
              + gflops)
    }
    let rest = stepMilliseconds - inKernels
    print(column("outside these kernels", 70) + String(format: "        %8.1f  %6.1f%%", rest, 100 * rest / stepMilliseconds))
}

/// The process's peak resident memory, from /proc/self/status.
enum PeakMemory {
    /// VmHWM in MiB (0 where /proc is missing).
    static var peakMiB: Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib / 1024
    }

    /// Returns freed heap memory to the system (glibc's `malloc_trim`, looked up at run time since
    /// Swift's Glibc module does not export `malloc.h`); nothing where it is missing.
    static func trimHeap() {
        guard let symbol = dlsym(nil, "malloc_trim") else { return }
        typealias Trim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    /// Resets VmHWM to the current resident size (Linux: write 5 to /proc/self/clear_refs), so each
    /// mode reports its own peak; ignored where unsupported.
    static func reset() {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return }
        try? handle.write(contentsOf: Data("5".utf8))
        try? handle.close()
    }
}
