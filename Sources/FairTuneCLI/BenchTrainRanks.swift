import Arguments
import Distributed
import Foundation
import Optimization
import Randomness
import Tensor
import Training
import ViT

/// `fairtune bench train --ranks N`: the data-parallel step of `fairtune train` itself
/// (`DataParallelStep`: forward and backward on each rank's part of the global batch, one fused
/// allreduce of the trainable gradients, AdamW) on random images, reporting the step time and the
/// share spent in the allreduce (packing, the reduce and unpacking; waiting for the slowest rank is
/// excluded). Started as a plain process, it re-launches itself under `mpirun -n N`.
func benchTrainRanks(_ args: ParsedArguments, ranks: Int) throws -> Int32 {
    let world = try MPICommunicator.world()
    if world.size != ranks {
        guard !world.usesMPI else {
            throw ViTCommandError(description: "--ranks \(ranks) but this MPI world has \(world.size) ranks; "
                + "start it with `mpirun -n \(ranks)` or without mpirun (it re-launches itself)")
        }
        return try relaunchUnderMPI(ranks: ranks)
    }
    defer { world.finalize() }
    let threads = try args.int("threads", in: 1...1024) ?? max(1, ProcessInfo.processInfo.activeProcessorCount / ranks)
    ParallelRows.useOwnThreads(threads)  // as fairtune train runs
    let config = try ViTConfig.timm(try args.requiredString("model"), classes: try args.int("classes", in: 1...100_000)!)
    let global = try args.int("batch-size", in: 1...4096)!
    guard global >= ranks else {
        throw ViTCommandError(description: "--batch-size \(global) is smaller than the \(ranks) ranks")
    }
    let steps = try args.int("steps", in: 1...10_000)!
    let method = try TuningOptions.method(args)
    let lora = try TuningOptions.lora(args, method: method)
    let layout = ParameterLayout(config: config, loraRank: lora.rank, loraAlpha: lora.alpha ?? 8)
    let model = VisionTransformer(layout: layout)
    ViTInitialization.randomize(model, seed: 1)
    let trainable: TrainableSet
    if method != nil {
        trainable = try TuningOptions.trainableSet(args, method: method, layout: layout)
    } else {
        let depth = config.depth
        let lastHalf = (0..<depth).flatMap { i in [Bool](repeating: i >= depth / 2, count: 4) }
        trainable = try TrainableSet(layout: layout, method: .parts4, mask: lastHalf)
    }
    model.setTrainable(trainable)
    model.gemmModes = try agreedGEMMModes(args, world: world, threads: threads, workload: GEMMSelection.Workload(
        batch: global / ranks + 1, tokens: config.tokens, width: config.width, mlpWidth: config.mlpWidth, heads: config.heads))
    let groups = trainable.parameterGroups(layout: layout, weightDecay: 1e-4)
    let step = DataParallelStep(model: model, world: world, optimizer: try AdamW(), groups: groups, classWeights: nil,
                                labelSmoothing: 0, clipGradNorm: nil, localBatch: global / ranks + 1)
    step.waitsBeforeReduce = true

    // This rank's part of the global batch, as the training plan cuts it.
    let local = global / ranks + (world.rank < global % ranks ? 1 : 0)
    var generator = SeededRandom(seed: UInt64(2 + world.rank))
    let images = (0..<(local * config.channels * config.imageSize * config.imageSize)).map { _ in generator.normal() }
    let labels = (0..<local).map { $0 % config.classes }
    var stepSeconds: [Double] = [], reduceSeconds: [Double] = []
    try images.withUnsafeBufferPointer { x in
        try labels.withUnsafeBufferPointer { y in
            for index in 0...steps {
                try world.barrier()
                let start = DispatchTime.now().uptimeNanoseconds
                let result = try step.run(images: x.baseAddress, labels: y, rows: local, learningRate: 1e-4, stopRequested: { false })
                let end = DispatchTime.now().uptimeNanoseconds
                if index > 0 {
                    stepSeconds.append(Double(end - start) / 1e9)
                    reduceSeconds.append(result.allreduceSeconds)
                }
            }
        }
    }
    // The slowest rank sets the pace.
    let stepTime = try world.allReduceMax(stepSeconds.reduce(0, +) / Double(steps))
    let reduce = try world.allReduceMax(reduceSeconds.reduce(0, +) / Double(steps))
    if world.isRoot {
        print("model \(args.string("model")!) (\(config)), \(ranks) rank(s) × \(threads) thread(s), global batch \(global), \(steps) timed steps")
        print(String(format: "trainable %d of %d parameters (%.2f%%): %.2f MB per allreduce", trainable.trainableCount,
                     trainable.totalCount, trainable.trainablePercent, Double(trainable.trainableCount * 4) / 1e6))
        print(String(format: "step %.4f s (%.1f img/s), allreduce %.5f s = %.2f%% of the step", stepTime, Double(global) / stepTime,
                     reduce, 100 * reduce / stepTime))
    }
    return ExitStatus.success
}

/// Runs this command again under `mpirun --bind-to none -n ranks` and returns its exit status.
private func relaunchUnderMPI(ranks: Int) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    var arguments = ["mpirun", "--bind-to", "none", "--oversubscribe", "-n", String(ranks)]
    if getuid() == 0 { arguments.insert("--allow-run-as-root", at: 1) }
    // mpirun would resolve /proc/self/exe to itself: pass this executable's real path.
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    process.arguments = arguments + [executable] + CommandLine.arguments.dropFirst()
    do { try process.run() } catch {
        throw ViTCommandError(description: "--ranks \(ranks): cannot start mpirun (\(error.localizedDescription)); is Open MPI installed?")
    }
    process.waitUntilExit()
    return process.terminationStatus
}

/// `--gemm`/`--precision` resolved on rank 0 (measured when not forced) and used by every rank.
private func agreedGEMMModes(_ args: ParsedArguments, world: MPICommunicator, threads: Int,
                             workload: GEMMSelection.Workload) throws -> GEMMModes {
    let candidates = try GEMMOptions.request(args).candidates(bf16Available: GEMMSelection.onednnBF16Kernel != nil)
    var codes: [Int32] = [0, 0]
    if world.isRoot {
        let choice = try GEMMChoice.resolve(candidates: candidates, workload: workload, threads: threads, cacheFile: nil)
        print("GEMM: \(choice.summary)")
        codes = [Int32(GEMMChoice.code(choice.modes.linear)), Int32(GEMMChoice.code(choice.modes.attention))]
    }
    try world.broadcast(&codes)
    return GEMMModes(linear: GEMMChoice.mode(code: Int(codes[0])) ?? .openblasFP32,
                     attention: GEMMChoice.mode(code: Int(codes[1])) ?? .openblasFP32)
}
