import Arguments
import Foundation
import Tensor
import Training

/// `fairtune bench gemm`: sgemm GFLOP/s at ViT-shaped sizes, one thread and all threads.
let benchGEMMCommand = Command(CommandSpec(
    name: "fairtune bench gemm",
    summary: """
        Time matrix products at ViT-B/16 sizes (batch 32: M = 6304 tokens) with 1 thread and all threads, in
        each library and operand precision asked (default: OpenBLAS f32, oneDNN f32 and oneDNN bf16 where the
        CPU has a bf16 kernel; --precision auto is the same as leaving both options out).
        """,
    options: [
        .value("repeats", "N", "timed runs per shape; the best is reported", default: "5"),
        .value("threads", "N", "the 'all threads' count", default: String(ProcessInfo.processInfo.activeProcessorCount)),
        .value("m", "M", "rows (tokens)", default: "6304"),
    ] + GEMMOptions.specs(defaultPrecision: .auto)
)) { args in
    let repeats = try args.int("repeats", in: 1...1000)!
    let allThreads = try args.int("threads", in: 1...1024)!
    let m = try args.int("m", in: 1...100_000)!
    // (n, k, transA, transB, role): forward products, and the two backward products of a Linear.
    let shapes: [(Int, Int, Transpose, Transpose, String)] = [
        (768, 768, .none, .transposed, "attn.proj forward"),
        (2304, 768, .none, .transposed, "attn.qkv forward"),
        (3072, 768, .none, .transposed, "mlp.fc1 forward"),
        (768, 3072, .none, .transposed, "mlp.fc2 forward"),
        (768, 3072, .none, .none, "mlp.fc1 input gradient"),
    ]
    var request = try GEMMOptions.request(args)
    if request.library == nil && request.precision == .auto { request.library = .auto }
    let modes = try request.candidates(bf16Available: GEMMSelection.onednnBF16Kernel != nil)
    print("OpenBLAS core \(BLASRuntime.coreName), oneDNN kernels \(GEMMSelection.onednnFP32Kernel ?? "none") (f32), "
          + "\(GEMMSelection.onednnBF16Kernel ?? "none") (bf16); CPU \(CPUInfo.current().modelName)")
    print("mode           shape (MxNxK)        op   role                    threads  GFLOP/s best  median")
    let threadCounts = allThreads == 1 ? [1] : [1, allThreads]
    for mode in modes {
        for threads in threadCounts {
            BLASRuntime.setThreads(threads)
            for (n, k, ta, tb, role) in shapes {
                let result = GEMMBenchmark.run(m: m, n: n, k: k, transA: ta, transB: tb, repeats: repeats, mode: mode)
                let shape = "\(m)x\(n)x\(k)".padding(toLength: 20, withPad: " ", startingAt: 0)
                let op = (ta == .none ? "N" : "T") + (tb == .none ? "N" : "T")
                print(mode.description.padding(toLength: 14, withPad: " ", startingAt: 0)
                      + " \(shape) \(op)   \(role.padding(toLength: 22, withPad: " ", startingAt: 0))  \(String(format: "%7d", threads))  \(String(format: "%12.1f", result.best))  \(String(format: "%6.1f", result.median))")
            }
        }
    }
    return ExitStatus.success
}
