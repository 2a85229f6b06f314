import Foundation

/// Times `GEMM.multiply` on random operands; used by `fairtune bench` to measure the ceiling
/// in the same run as the thing compared with it.
public enum GEMMBenchmark {
    public struct Result: Sendable {
        /// GFLOP/s of the fastest run and of the median run.
        public var best: Double
        public var median: Double
    }

    /// Runs one warm-up and `repeats` timed products of (m, k)·(k, n) in `mode`. bf16 operands are
    /// converted before the clock starts: this is the library's ceiling, which fairtune's
    /// conversions (timed in the steps) must approach.
    public static func run(m: Int, n: Int, k: Int, transA: Transpose, transB: Transpose, repeats: Int,
                           mode: GEMMMode = .openblasFP32) -> Result {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        var state: UInt32 = 12345
        for i in 0..<(m * k) { state = state &* 1664525 &+ 1013904223; a[i] = Float(state >> 8) / Float(1 << 24) - 0.5 }
        for i in 0..<(k * n) { state = state &* 1664525 &+ 1013904223; b[i] = Float(state >> 8) / Float(1 << 24) - 0.5 }
        let lda = transA == .none ? k : m
        let ldb = transB == .none ? n : k
        let aBF16 = UnsafeMutablePointer<UInt16>.allocate(capacity: m * k)
        let bBF16 = UnsafeMutablePointer<UInt16>.allocate(capacity: k * n)
        defer { aBF16.deallocate(); bBF16.deallocate() }
        BFloat16.convert(rows: 1, columns: m * k, from: a, stride: m * k, to: aBF16)
        BFloat16.convert(rows: 1, columns: k * n, from: b, stride: k * n, to: bBF16)
        let shape = OneDNNGEMM.Shape(transA: transA == .transposed, transB: transB == .transposed, m: m, n: n, k: k,
                                     lda: lda, ldb: ldb, ldc: n, alpha: 1, beta: 0, bf16: true, threads: BLASRuntime.threads)
        var seconds: [Double] = []
        for r in 0...repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            if mode.precision == .bf16 {
                OneDNNGEMM.execute(shape, a: UnsafeRawPointer(aBF16), b: UnsafeRawPointer(bBF16), c: c)
            } else {
                GEMM.multiply(transA, transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: n, mode: mode)
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if r > 0 { seconds.append(elapsed) }
        }
        seconds.sort()
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        return Result(best: flops / seconds[0] / 1e9, median: flops / seconds[seconds.count / 2] / 1e9)
    }
}
