/// Attention for the class token's query alone, over every token's key and value: the last block
/// of a class-token ViT, where the head reads only the class token, so no other token's query,
/// output or MLP row can change the logits.
///
/// Letters as `Attention`: B batch, T tokens, H heads, D head width, C = H·D.
/// `qkv` (B, T, 3C), f32 or bf16, laid out as `Attention` reads it (the class token is row 0 of
/// each image); `output` (B, C) the class token's attention output, heads concatenated;
/// `probabilities` (B, H, T) its softmax row per head. The work is O(B·H·T·D): plain loops.
public enum ClassTokenAttention {
    /// Fills `probabilities` and `output`: `softmax(q₀ kᵀ / √D) v` per image and head.
    public static func forward(output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
                               qkv: Operand, batch b: Int, tokens t: Int, heads h: Int, headDim d: Int) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endAttention(clock, "class-token attention forward",
                                       batch: b, heads: h, queries: 1, tokens: t, headDim: d, products: 2)
        }
        switch qkv {
        case .float32(let x):
            forward(output: output, probabilities: probabilities, qkv: x, batch: b, tokens: t, heads: h, headDim: d)
        case .bfloat16(let x):
            forward(output: output, probabilities: probabilities, qkv: x, batch: b, tokens: t, heads: h, headDim: d)
        }
    }

    /// Writes dL/dqkv (B, T, 3C) in f32, every element: the q columns of the class rows, the k and
    /// v columns of every row, zeros in the q columns of the other rows. `outputGradient` (B, C).
    public static func backward(qkvGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
                                qkv: Operand, probabilities: UnsafePointer<Float>,
                                batch b: Int, tokens t: Int, heads h: Int, headDim d: Int) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endAttention(clock, "class-token attention backward",
                                       batch: b, heads: h, queries: 1, tokens: t, headDim: d, products: 4)
        }
        switch qkv {
        case .float32(let x):
            backward(qkvGradient: qkvGradient, outputGradient: outputGradient, qkv: x, probabilities: probabilities,
                     batch: b, tokens: t, heads: h, headDim: d)
        case .bfloat16(let x):
            backward(qkvGradient: qkvGradient, outputGradient: outputGradient, qkv: x, probabilities: probabilities,
                     batch: b, tokens: t, heads: h, headDim: d)
        }
    }

    private static func forward<E: StoredFloat>(output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
                                                qkv: UnsafePointer<E>, batch b: Int, tokens t: Int, heads h: Int, headDim d: Int) {
        let c = h * d, ld = 3 * c, scale = 1 / Float(d).squareRoot()
        ParallelRows.forEach(count: b * h, minimumChunk: 4) { _, units in
            for bh in units {
                let image = bh / h, head = bh % h
                let q = qkv + image * t * ld + head * d, p = probabilities + bh * t
                for j in 0..<t { p[j] = dot(q, q + j * ld + c, count: d) }
                Softmax.forwardInPlace(p, rows: 1, columns: t, stride: t, scale: scale)
                let o = output + image * c + head * d
                o.update(repeating: 0, count: d)
                for j in 0..<t {
                    let v = q + j * ld + 2 * c, pj = p[j]
                    for i in 0..<d { o[i] += pj * v[i].widened }
                }
            }
        }
    }

    /// Per image and head, with dO the output gradient: dPⱼ = dO·vⱼ, dSⱼ = pⱼ(dPⱼ − Σₖ pₖdPₖ)/√D,
    /// dq₀ = Σⱼ dSⱼ kⱼ, dkⱼ = dSⱼ q₀, dvⱼ = pⱼ dO.
    private static func backward<E: StoredFloat>(qkvGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
                                                 qkv: UnsafePointer<E>, probabilities: UnsafePointer<Float>,
                                                 batch b: Int, tokens t: Int, heads h: Int, headDim d: Int) {
        let c = h * d, ld = 3 * c, scale = 1 / Float(d).squareRoot()
        ParallelRows.forEach(count: b * h, minimumChunk: 4) { _, units in
            for bh in units {
                let image = bh / h, head = bh % h
                let q = qkv + image * t * ld + head * d, p = probabilities + bh * t
                let dO = outputGradient + image * c + head * d
                let dq = qkvGradient + image * t * ld + head * d
                // dP in the k columns first (a row's dk is written only after its dP is read).
                var weighted: Float = 0
                for j in 0..<t {
                    let dP = dot(dO, q + j * ld + 2 * c, count: d)
                    dq[j * ld + c] = dP
                    weighted += p[j] * dP
                }
                dq.update(repeating: 0, count: d)
                for j in 0..<t {
                    let k = q + j * ld + c, dk = dq + j * ld + c, dv = dk + c
                    let dS = scale * p[j] * (dk[0] - weighted), pj = p[j]
                    for i in 0..<d { dq[i] += dS * k[i].widened }
                    for i in 0..<d { dk[i] = dS * q[i].widened }
                    for i in 0..<d { dv[i] = pj * dO[i] }
                    if j > 0 { (dq + j * ld).update(repeating: 0, count: d) }
                }
            }
        }
    }
}

extension ClassTokenAttention {
    /// Σ a[i]·b[i] over eight lanes (a serial f32 sum does not vectorize).
    @inline(__always)
    static func dot<A: StoredFloat, B: StoredFloat>(_ a: UnsafePointer<A>, _ b: UnsafePointer<B>, count: Int) -> Float {
        var lanes = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let x = SIMD8<Float>(a[i].widened, a[i + 1].widened, a[i + 2].widened, a[i + 3].widened,
                                 a[i + 4].widened, a[i + 5].widened, a[i + 6].widened, a[i + 7].widened)
            let y = SIMD8<Float>(b[i].widened, b[i + 1].widened, b[i + 2].widened, b[i + 3].widened,
                                 b[i + 4].widened, b[i + 5].widened, b[i + 6].widened, b[i + 7].widened)
            lanes += x * y
            i += 8
        }
        var total = lanes.sum()
        while i < count {
            total += a[i].widened * b[i].widened
            i += 1
        }
        return total
    }
}

/// An element type a kernel reads as f32: f32 itself, or bf16 bits (`UInt16`).
protocol StoredFloat {
    var widened: Float { get }
}

extension Float: StoredFloat {
    @inline(__always) var widened: Float { self }
}

extension UInt16: StoredFloat {
    /// These bits as bf16 (`BFloat16.float`).
    @inline(__always) var widened: Float { BFloat16.float(self) }
}
