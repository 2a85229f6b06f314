import CDNNL
import Foundation

/// Chooses the fastest `GEMMMode` per shape class by timing the products a ViT step runs, on the
/// threads it will run them with (call after `ParallelRows.useOwnThreads`, as training does).
public enum GEMMSelection {
    /// The shapes of one training step (per rank).
    public struct Workload: Sendable, Hashable {
        public var batch, tokens, width, mlpWidth, heads: Int
        public init(batch: Int, tokens: Int, width: Int, mlpWidth: Int, heads: Int) {
            (self.batch, self.tokens, self.width, self.mlpWidth, self.heads) = (batch, tokens, width, mlpWidth, heads)
        }
    }

    /// GFLOP/s of one mode on one shape class.
    public struct Measurement: Sendable, Hashable {
        public var shapeClass: GEMMShapeClass
        public var mode: GEMMMode
        public var gflops: Double
        public init(shapeClass: GEMMShapeClass, mode: GEMMMode, gflops: Double) {
            (self.shapeClass, self.mode, self.gflops) = (shapeClass, mode, gflops)
        }
    }

    /// The fastest measured mode of each class (ties and missing classes: the first candidate).
    public static func fastest(_ measurements: [Measurement]) -> GEMMModes {
        func best(_ shapeClass: GEMMShapeClass) -> GEMMMode {
            let own = measurements.filter { $0.shapeClass == shapeClass }
            return (own.max { $0.gflops < $1.gflops } ?? own.first)?.mode ?? .openblasFP32
        }
        return GEMMModes(linear: best(.linear), attention: best(.attention))
    }

    /// Times every candidate on both classes: the linear class as an MLP layer's forward, input-
    /// gradient and weight-gradient products (rows split across the workers), the attention class
    /// as `Attention.forward` and `backward` over every head (`forwardBF16`, `backwardBF16` for
    /// bf16). About two seconds for ViT-S/16 at batch 32.
    public static func measure(_ workload: Workload, candidates: [GEMMMode], repeats: Int = 2) -> [Measurement] {
        var results: [Measurement] = []
        for mode in candidates {
            results.append(Measurement(shapeClass: .linear, mode: mode, gflops: timeLinear(workload, mode: mode, repeats: repeats)))
            results.append(Measurement(shapeClass: .attention, mode: mode, gflops: timeAttention(workload, mode: mode, repeats: repeats)))
        }
        return results
    }

    /// Best GFLOP/s of `body` (which performs `flops`) over a warm-up and `repeats` timed runs.
    private static func best(flops: Double, repeats: Int, _ body: () -> Void) -> Double {
        var fastest = Double.infinity
        for r in 0...repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if r > 0 { fastest = min(fastest, seconds) }
        }
        return flops / fastest / 1e9
    }

    private static func timeLinear(_ w: Workload, mode: GEMMMode, repeats: Int) -> Double {
        let n = w.batch * w.tokens, c = w.width, m = w.mlpWidth
        let x = randomBuffer(n * c, seed: 1), weight = randomBuffer(m * c, seed: 2), hidden = randomBuffer(n * m, seed: 3)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: max(n * c, m * c))
        defer { x.deallocate(); weight.deallocate(); hidden.deallocate(); out.deallocate() }
        return best(flops: 3 * 2 * Double(n) * Double(m) * Double(c), repeats: repeats) {
            // fc1 forward (NT), its input gradient (NN), its weight gradient (TN).
            GEMM.multiplySplittingRows(.none, .transposed, m: n, n: m, k: c, a: x, lda: c, b: weight, ldb: c, c: hidden, ldc: m, mode: mode)
            GEMM.multiplySplittingRows(.none, .none, m: n, n: c, k: m, a: hidden, lda: m, b: weight, ldb: c, c: out, ldc: c, mode: mode)
            GEMM.multiplySplittingRows(.transposed, .none, m: m, n: c, k: n, a: hidden, lda: m, b: x, ldb: c, c: out, ldc: c, mode: mode)
        }
    }

    /// Attention's forward and backward (as a training step runs them) over every head.
    private static func timeAttention(_ w: Workload, mode: GEMMMode, repeats: Int) -> Double {
        let t = w.tokens, c = w.width, heads = w.batch * w.heads, d = c / w.heads
        let rows = w.batch * t, square = heads * t * t, bf16 = mode.precision == .bf16
        let qkv = randomBuffer(rows * 3 * c, seed: 4), outputGradient = randomBuffer(rows * c, seed: 5)
        let qkvGradient = UnsafeMutablePointer<Float>.allocate(capacity: rows * 3 * c)
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: square)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: square)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: rows * c)
        // bf16: the model's path, qkv rounded once and bf16 probabilities (the rounding is timed).
        let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: bf16 ? rows * 4 * c + 2 * square : 1)
        let qkvBF16 = halves, outputGradientBF16 = halves + rows * 3 * c
        let probabilitiesBF16 = halves + rows * 4 * c, scoresGradientBF16 = probabilitiesBF16 + square
        defer {
            for p in [qkv, outputGradient, qkvGradient, probabilities, scratch, out] { p.deallocate() }
            halves.deallocate()
        }
        return best(flops: 3 * 2 * 2 * Double(heads) * Double(t) * Double(t) * Double(d), repeats: repeats) {
            if bf16 {
                Attention.forwardBF16(output: .float32(out), probabilities: probabilitiesBF16, qkvBF16: qkvBF16,
                                      scores: probabilities, qkv: qkv, batch: w.batch, tokens: t, heads: w.heads, headDim: d)
                Attention.backwardBF16(qkvGradient: .float32(qkvGradient), outputGradient: outputGradient, qkvBF16: qkvBF16,
                                       probabilities: probabilitiesBF16, outputGradientBF16: outputGradientBF16,
                                       scoresGradientBF16: scoresGradientBF16, batch: w.batch, tokens: t, heads: w.heads,
                                       headDim: d)
            } else {
                Attention.forward(output: out, probabilities: probabilities, qkv: qkv, batch: w.batch, tokens: t,
                                  heads: w.heads, headDim: d, mode: mode)
                Attention.backward(qkvGradient: qkvGradient, scratch: scratch, outputGradient: outputGradient, qkv: qkv,
                                   probabilities: probabilities, batch: w.batch, tokens: t, heads: w.heads, headDim: d, mode: mode)
            }
        }
    }

    private static func randomBuffer(_ count: Int, seed: UInt32) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        var state = seed &* 2654435761
        for i in 0..<count { state = state &* 1664525 &+ 1013904223; p[i] = Float(state >> 8) / Float(1 << 24) - 0.5 }
        return p
    }

    /// The loaded oneDNN's version, e.g. `2.6.3`.
    public static var onednnVersion: String {
        guard let v = dnnl_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch)"
    }

    /// Whether oneDNN has a bf16 matmul kernel on this CPU (its name, e.g. `brg:avx512_core_bf16`), or nil.
    public static var onednnBF16Kernel: String? { OneDNNGEMM.implementation(m: 64, n: 64, k: 64, bf16: true) }
    /// oneDNN's f32 matmul kernel on this CPU, or nil.
    public static var onednnFP32Kernel: String? { OneDNNGEMM.implementation(m: 64, n: 64, k: 64, bf16: false) }
}
