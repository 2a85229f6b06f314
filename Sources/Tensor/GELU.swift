/// The exact GELU of `torch.nn.GELU()` (approximate='none'): `x · Φ(x)`, Φ the normal CDF via erf.
///
/// Shapes: `input`, `output` (count) element-wise. f32 on our loops; bf16 (the layers' mixed
/// precision) on oneDNN's kernel.
public enum GELU {
    /// Elements per inner tile: the transcendental part runs from `input` into a stack tile, which
    /// never aliases the caller's buffers, so it vectorizes even when a call works in place.
    static let tile = 512

    /// `output[i] = 0.5 · x · (1 + erf(x / √2))`; `output` may equal `input`.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        let clock = KernelProfile.begin()
        defer { KernelProfile.end(clock, "GELU forward", "\(count)") }
        ParallelRows.forEach(count: count, minimumChunk: 16_384) { _, range in
            forwardOnThisThread(output: output + range.lowerBound, input: input + range.lowerBound, count: range.count)
        }
    }

    /// `forward` on the calling thread only (inside a worker's chunk).
    static func forwardOnThisThread(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        forEachTile(in: 0..<count) { start, n, t in
            let x = input + start
            for j in 0..<n { t[j] = 0.5 * x[j] * (1 + FastMath.erf(x[j] * 0.70710678118654752)) }
            (output + start).update(from: t, count: n)
        }
    }

    /// `inputGradient[i] (+)= outputGradient[i] · (Φ(x) + x·φ(x))`; overwrites unless `accumulate`.
    /// `inputGradient` may equal `outputGradient`.
    public static func backward(inputGradient: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                                outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        let clock = KernelProfile.begin()
        defer { KernelProfile.end(clock, "GELU backward", "\(count)") }
        ParallelRows.forEach(count: count, minimumChunk: 16_384) { _, range in
            forEachTile(in: range) { start, n, t in
                let x = input + start, dy = outputGradient + start, dx = inputGradient + start
                for j in 0..<n { t[j] = Self.derivative(x[j]) }
                if accumulate {
                    for j in 0..<n { dx[j] += dy[j] * t[j] }
                } else {
                    for j in 0..<n { dx[j] = dy[j] * t[j] }
                }
            }
        }
    }

    /// The backward's one pass over the pre-activation: `output[i] = GELU(x)` (the next layer's
    /// input, for its weight gradient) and `derivative[i] = GELU'(x)` (for `backward(derivative:)`),
    /// sharing erf and its exponential; the values of `forward` bit for bit, the derivative's within
    /// f32 rounding of `backward`'s. `derivative` may equal `input` (its last reader).
    public static func forwardAndDerivative(output: UnsafeMutablePointer<Float>?, derivative: UnsafeMutablePointer<Float>,
                                            input: UnsafePointer<Float>, count: Int) {
        let clock = KernelProfile.begin()
        defer { KernelProfile.end(clock, "GELU value and derivative", "\(count)") }
        ParallelRows.forEach(count: count, minimumChunk: 16_384) { _, range in
            // Both results go to stack tiles first (no aliasing with the caller's buffers: vectorizes).
            forEachTile(in: range, tiles: 2) { start, n, scratch in
                let g = scratch, d = scratch + tile, x = input + start
                if output != nil {
                    valueAndDerivative(x, count: n, value: g, derivative: d)
                    (output! + start).update(from: g, count: n)
                } else {
                    for j in 0..<n { d[j] = Self.derivative(x[j]) }
                }
                (derivative + start).update(from: d, count: n)
            }
        }
    }

    /// GELU(x) into `value` and GELU'(x) into `derivative` for `count` elements, sharing erf and its
    /// exponential: φ(x) = e^(−(x/√2)²)/√(2π) is the exponential erf(x/√2) computes anyway.
    @inline(__always)
    private static func valueAndDerivative(_ x: UnsafePointer<Float>, count: Int, value: UnsafeMutablePointer<Float>,
                                           derivative: UnsafeMutablePointer<Float>) {
        for j in 0..<count {
            let e = FastMath.erfAndGaussian(x[j] * 0.70710678118654752)
            value[j] = 0.5 * x[j] * (1 + e.erf)
            derivative[j] = 0.5 * (1 + e.erf) + x[j] * (e.gaussian * 0.39894228040143268)
        }
    }

    /// `inputGradient[i] = outputGradient[i] · derivative[i]`, the derivative from
    /// `forwardAndDerivative`; `inputGradient` may equal `outputGradient`.
    public static func backward(inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
                                derivative: UnsafePointer<Float>, count: Int) {
        let clock = KernelProfile.begin()
        defer { KernelProfile.end(clock, "GELU backward from the derivative", "\(count)") }
        ParallelRows.forEach(count: count, minimumChunk: 16_384) { _, range in
            for i in range { inputGradient[i] = outputGradient[i] * derivative[i] }
        }
    }

    /// `forward` on bf16 values (`UInt16` bits) with oneDNN's exact-GELU kernel (JIT for the CPU:
    /// AVX-512 where it has it), split across the workers; `outputBF16` may equal `inputBF16`.
    public static func forward(outputBF16: UnsafeMutablePointer<UInt16>, inputBF16: UnsafePointer<UInt16>, count: Int) {
        let clock = KernelProfile.begin()
        defer { KernelProfile.end(clock, "GELU forward, bf16", "\(count)") }
        ParallelRows.forEach(count: count, minimumChunk: 16_384) { _, range in
            OneDNNKernels.geluForward(count: range.count, input: inputBF16 + range.lowerBound,
                                      output: outputBF16 + range.lowerBound)
        }
    }

    /// `backward` on bf16 values with oneDNN's kernel: `inputGradientBF16[i] = outputGradientBF16[i]
    /// · GELU'(inputBF16[i])`, rounded to bf16; `inputGradientBF16` may equal `outputGradientBF16`.
    public static func backward(inputGradientBF16: UnsafeMutablePointer<UInt16>, outputGradientBF16: UnsafePointer<UInt16>,
                                inputBF16: UnsafePointer<UInt16>, count: Int) {
        let clock = KernelProfile.begin()
        defer { KernelProfile.end(clock, "GELU backward, bf16", "\(count)") }
        ParallelRows.forEach(count: count, minimumChunk: 16_384) { _, range in
            let start = range.lowerBound
            OneDNNKernels.geluBackward(count: range.count, input: inputBF16 + start,
                                       outputGradient: outputGradientBF16 + start, inputGradient: inputGradientBF16 + start)
        }
    }

    /// Calls `body(start, n, scratch)` for consecutive tiles of at most `tile` of the elements in
    /// `range`, on the calling thread; `scratch` holds `tiles` × `tile` floats on its stack.
    @inline(__always)
    private static func forEachTile(in range: Range<Int>, tiles: Int = 1,
                                    _ body: (_ start: Int, _ n: Int, _ scratch: UnsafeMutablePointer<Float>) -> Void) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: tiles * tile) { scratch in
            var start = range.lowerBound
            while start < range.upperBound {
                let n = min(tile, range.upperBound - start)
                body(start, n, scratch.baseAddress!)
                start += n
            }
        }
    }

    /// d GELU / dx = Φ(x) + x·φ(x).
    @inline(__always)
    static func derivative(_ x: Float) -> Float {
        let cdf = 0.5 * (1 + FastMath.erf(x * 0.70710678118654752))
        let pdf = FastMath.exp(-0.5 * x * x) * 0.39894228040143268
        return cdf + x * pdf
    }
}
