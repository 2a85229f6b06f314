/// Layer normalisation over the last dimension, as `torch.nn.LayerNorm(C, eps)`.
///
/// Shapes: N rows of C channels. `input`, `output` (N, C); `mean`, `rstd` (N) cached for the
/// backward; `weight`, `bias` (C).
public enum LayerNorm {
    /// `output = (input - mean) * rstd * weight + bias` per row, with `rstd = 1/sqrt(var + eps)`
    /// and the biased variance. Two passes over each row (mean, then centred squares) keep the
    /// f32 error at the level of PyTorch's.
    public static func forward(
        output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows n: Int, channels c: Int, epsilon: Float
    ) {
        forward(output: .float32(output), mean: mean, rstd: rstd, input: input, weight: weight, bias: bias, rows: n,
                channels: c, epsilon: epsilon)
    }

    /// `forward` into f32 or bf16 (`UInt16` bits: the next product's operand, rounded by the kernel
    /// that makes it instead of a rounding pass of its own).
    public static func forward(
        output: Destination, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows n: Int, channels c: Int, epsilon: Float
    ) {
        let clock = KernelProfile.begin()
        defer { KernelProfile.end(clock, "layer norm forward" + (output.isBFloat16 ? ", bf16 out" : ""), "\(n)×\(c)") }
        switch output {
        case .float32(let y):
            forward(outputF32: y, mean: mean, rstd: rstd, input: input, weight: weight, bias: bias, rows: n, channels: c,
                    epsilon: epsilon)
        case .bfloat16(let y):
            forward(outputBF16: y, mean: mean, rstd: rstd, input: input, weight: weight, bias: bias, rows: n, channels: c,
                    epsilon: epsilon)
        }
    }

    /// The f32 `forward`.
    private static func forward(
        outputF32 output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows n: Int, channels c: Int, epsilon: Float
    ) {
        ParallelRows.forEach(count: n, minimumChunk: 8) { _, rows in
            for r in rows {
                let x = input + r * c, y = output + r * c
                let row = statistics(x, channels: c, epsilon: epsilon)
                for i in 0..<c { y[i] = (x[i] - row.mean) * row.rstd * weight[i] + bias[i] }
                mean[r] = row.mean
                rstd[r] = row.rstd
            }
        }
    }

    /// The bf16 `forward`. (Its own loop: one generic loop for both, storing through a closure, no
    /// longer vectorized and ran 4x slower.)
    private static func forward(
        outputBF16: UnsafeMutablePointer<UInt16>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows n: Int, channels c: Int, epsilon: Float
    ) {
        ParallelRows.forEach(count: n, minimumChunk: 8) { _, rows in
            for r in rows {
                let x = input + r * c, y = outputBF16 + r * c
                let row = statistics(x, channels: c, epsilon: epsilon)
                for i in 0..<c { y[i] = BFloat16.bits((x[i] - row.mean) * row.rstd * weight[i] + bias[i]) }
                mean[r] = row.mean
                rstd[r] = row.rstd
            }
        }
    }

    /// A row's mean and 1/sqrt(biased variance + eps): two passes (mean, then centred squares)
    /// keep the f32 error at the level of PyTorch's.
    @inline(__always)
    private static func statistics(_ x: UnsafePointer<Float>, channels c: Int, epsilon: Float) -> (mean: Float, rstd: Float) {
        let m = RowSum.sum(x, c) / Float(c)
        return (m, 1 / (RowSum.centeredSquares(x, mean: m, c) / Float(c) + epsilon).squareRoot())
    }

    /// Accumulates the gradients of `forward`: `inputGradient += dL/dinput` (when given),
    /// `weightGradient += Σ_rows dout·x̂`, `biasGradient += Σ_rows dout` (when given).
    ///
    /// Weight and bias sums are formed per thread chunk (in `partialSums`) and added at the end, so
    /// the result does not depend on timing.
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>?,
        weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?,
        outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        rows n: Int, channels c: Int, partialSums: PartialSums
    ) {
        let clock = KernelProfile.begin()
        defer { KernelProfile.end(clock, "layer norm backward", "\(n)×\(c)") }
        let wantsParameters = weightGradient != nil || biasGradient != nil
        let chunks = ParallelRows.chunkCount(count: n, minimumChunk: 8)
        let partial = partialSums.zeroed(wantsParameters ? chunks * 2 * c : 0)
        ParallelRows.forEach(count: n, chunks: chunks) { chunk, rows in
            let dw = partial + chunk * 2 * c, db = dw + c
            for r in rows {
                let x = input + r * c, dy = outputGradient + r * c
                let m = mean[r], s = rstd[r]
                if wantsParameters {
                    for i in 0..<c {
                        dw[i] += (x[i] - m) * s * dy[i]
                        db[i] += dy[i]
                    }
                }
                guard let dinput = inputGradient else { continue }
                // dx = rstd * (g - mean(g) - x̂ * mean(g·x̂)), g = dy * weight.
                let gMean = RowSum.dot(dy, weight, c) / Float(c)
                let gxMean = RowSum.centeredTripleDot(dy, weight, x, center: m, c) * s / Float(c)
                let dx = dinput + r * c
                for i in 0..<c {
                    let xh = (x[i] - m) * s
                    dx[i] += (dy[i] * weight[i] - gMean - xh * gxMean) * s
                }
            }
        }
        guard wantsParameters else { return }
        for chunk in 0..<chunks {
            let dw = partial + chunk * 2 * c, db = dw + c
            if let weightGradient { for i in 0..<c { weightGradient[i] += dw[i] } }
            if let biasGradient { for i in 0..<c { biasGradient[i] += db[i] } }
        }
    }
}
