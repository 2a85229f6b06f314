import Foundation
import Tensor
import XCTest

/// Finite-difference checks of every layer kernel's backward against its own forward, and of each
/// forward against a naive loop. The loss is L = Σ output ⊙ R for a fixed random R, so
/// dL/doutput = R. Central differences with h = 1e-2 in f32 carry about 1e-3 relative error
/// (round-off in L over 2h), hence the 2e-2 tolerance.
final class KernelGradientTests: XCTestCase {
    /// A heap buffer of f32 with deterministic uniform values in [-scale, scale).
    final class Buffer {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int
        init(_ count: Int, seed: UInt64 = 0, scale: Float = 1) {
            self.count = count
            pointer = .allocate(capacity: max(count, 1))
            var state = seed &* 6364136223846793005 &+ 1442695040888963407
            for i in 0..<count {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                pointer[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        deinit { pointer.deallocate() }
        func zero() { pointer.update(repeating: 0, count: count) }
        subscript(i: Int) -> Float { get { pointer[i] } set { pointer[i] = newValue } }
    }

    static func dot(_ a: Buffer, _ r: Buffer) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += Double(a[i]) * Double(r[i]) }
        return s
    }

    /// Compares `analytic` with central differences of `loss` over every element of `parameter`.
    func checkGradient(_ name: String, parameter: Buffer, analytic: Buffer, tolerance: Double = 2e-2,
                       h: Float = 1e-2, loss: () -> Double, file: StaticString = #filePath, line: UInt = #line) {
        var worst = 0.0
        for i in 0..<parameter.count {
            let saved = parameter[i]
            parameter[i] = saved + h
            let up = loss()
            parameter[i] = saved - h
            let down = loss()
            parameter[i] = saved
            let numeric = (up - down) / (2 * Double(h))
            let error = abs(numeric - Double(analytic[i])) / max(1, abs(numeric))
            worst = max(worst, error)
            if error > tolerance {
                XCTFail("\(name)[\(i)]: analytic \(analytic[i]) numeric \(numeric)", file: file, line: line)
                return
            }
        }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(name): worst relative error \(worst)", file: file, line: line)
    }

    func testLayerNormMatchesNaiveAndFiniteDifferences() {
        let n = 40, c = 12  // 40 rows: more than one thread chunk (8 rows minimum each)
        let x = Buffer(n * c, seed: 1, scale: 2), w = Buffer(c, seed: 2), b = Buffer(c, seed: 3)
        let y = Buffer(n * c), mean = Buffer(n), rstd = Buffer(n), r = Buffer(n * c, seed: 4)
        func forward() -> Double {
            LayerNorm.forward(output: y.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.pointer,
                              weight: w.pointer, bias: b.pointer, rows: n, channels: c, epsilon: 1e-6)
            return Self.dot(y, r)
        }
        _ = forward()
        for row in 0..<n {
            var m = 0.0, v = 0.0
            for i in 0..<c { m += Double(x[row * c + i]) }
            m /= Double(c)
            for i in 0..<c { v += pow(Double(x[row * c + i]) - m, 2) }
            v /= Double(c)
            for i in 0..<c {
                let expected = (Double(x[row * c + i]) - m) / (v + 1e-6).squareRoot() * Double(w[i]) + Double(b[i])
                XCTAssertEqual(Double(y[row * c + i]), expected, accuracy: 1e-5)
            }
        }
        let dx = Buffer(n * c), dw = Buffer(c), db = Buffer(c)
        dx.zero(); dw.zero(); db.zero()
        LayerNorm.backward(inputGradient: dx.pointer, weightGradient: dw.pointer, biasGradient: db.pointer,
                           outputGradient: r.pointer, input: x.pointer, weight: w.pointer, mean: mean.pointer,
                           rstd: rstd.pointer, rows: n, channels: c, partialSums: PartialSums())
        checkGradient("layernorm input", parameter: x, analytic: dx, loss: forward)
        checkGradient("layernorm weight", parameter: w, analytic: dw, loss: forward)
        checkGradient("layernorm bias", parameter: b, analytic: db, loss: forward)
    }

    func testLinearMatchesNaiveAndFiniteDifferences() {
        let n = 7, c = 5, oc = 4
        let x = Buffer(n * c, seed: 5), w = Buffer(oc * c, seed: 6), b = Buffer(oc, seed: 7)
        let y = Buffer(n * oc), r = Buffer(n * oc, seed: 8)
        func forward() -> Double {
            Linear.forward(output: y.pointer, input: x.pointer, weight: w.pointer, bias: b.pointer,
                           rows: n, inFeatures: c, outFeatures: oc)
            return Self.dot(y, r)
        }
        _ = forward()
        for i in 0..<n {
            for o in 0..<oc {
                var s = Double(b[o])
                for j in 0..<c { s += Double(x[i * c + j]) * Double(w[o * c + j]) }
                XCTAssertEqual(Double(y[i * oc + o]), s, accuracy: 1e-5)
            }
        }
        let dx = Buffer(n * c), dw = Buffer(oc * c), db = Buffer(oc)
        dx.zero(); dw.zero(); db.zero()
        Linear.backward(inputGradient: dx.pointer, weightGradient: dw.pointer, biasGradient: db.pointer,
                        outputGradient: r.pointer, input: x.pointer, weight: w.pointer,
                        rows: n, inFeatures: c, outFeatures: oc, partialSums: PartialSums())
        checkGradient("linear input", parameter: x, analytic: dx, loss: forward)
        checkGradient("linear weight", parameter: w, analytic: dw, loss: forward)
        checkGradient("linear bias", parameter: b, analytic: db, loss: forward)
    }

    func testGELUMatchesErfFormulaAndFiniteDifferences() {
        let n = 64
        let x = Buffer(n, seed: 9, scale: 4), y = Buffer(n), r = Buffer(n, seed: 10)
        func forward() -> Double {
            GELU.forward(output: y.pointer, input: x.pointer, count: n)
            return Self.dot(y, r)
        }
        _ = forward()
        for i in 0..<n {
            let v = Double(x[i])
            XCTAssertEqual(Double(y[i]), 0.5 * v * (1 + erf(v / 2.0.squareRoot())), accuracy: 1e-6)
        }
        let dx = Buffer(n)
        GELU.backward(inputGradient: dx.pointer, outputGradient: r.pointer, input: x.pointer, count: n)
        checkGradient("gelu input", parameter: x, analytic: dx, loss: forward)
    }

    /// The backward's fused pass: GELU as `forward` bit for bit, GELU' as the derivative of the
    /// exact formula (Double), and `backward(derivative:)` as `backward(input:)`.
    func testGELUValueAndDerivativeInOnePass() {
        let n = 40_000  // several tiles and, with two workers, two chunks
        let x = Buffer(n, seed: 15, scale: 6), forwardValue = Buffer(n), value = Buffer(n), derivative = Buffer(n)
        GELU.forward(output: forwardValue.pointer, input: x.pointer, count: n)
        GELU.forwardAndDerivative(output: value.pointer, derivative: derivative.pointer, input: x.pointer, count: n)
        for i in 0..<n {
            XCTAssertEqual(value[i].bitPattern, forwardValue[i].bitPattern)
            let v = Double(x[i])
            let exact = 0.5 * (1 + erf(v / 2.0.squareRoot())) + v * exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
            XCTAssertEqual(Double(derivative[i]), exact, accuracy: 2e-6)
        }
        let r = Buffer(n, seed: 16), viaInput = Buffer(n), viaDerivative = Buffer(n)
        GELU.backward(inputGradient: viaInput.pointer, outputGradient: r.pointer, input: x.pointer, count: n)
        GELU.backward(inputGradient: viaDerivative.pointer, outputGradient: r.pointer, derivative: derivative.pointer, count: n)
        for i in 0..<n { XCTAssertEqual(viaDerivative[i], viaInput[i], accuracy: 1e-6 * max(1, abs(viaInput[i]))) }
        // In place over the input, as the model calls it, without the value.
        GELU.forwardAndDerivative(output: nil, derivative: x.pointer, input: x.pointer, count: n)
        for i in 0..<n { XCTAssertEqual(x[i], derivative[i], accuracy: 1e-6) }
    }

    func testAttentionMatchesNaiveAndFiniteDifferences() {
        let b = 2, t = 5, h = 3, d = 4, c = h * d
        let qkv = Buffer(b * t * 3 * c, seed: 11), out = Buffer(b * t * c), p = Buffer(b * h * t * t)
        let r = Buffer(b * t * c, seed: 12)
        func forward() -> Double {
            Attention.forward(output: out.pointer, probabilities: p.pointer, qkv: qkv.pointer,
                              batch: b, tokens: t, heads: h, headDim: d)
            return Self.dot(out, r)
        }
        _ = forward()
        // Naive: per batch, head and query, softmax over keys then the weighted sum of values.
        for n in 0..<b {
            for head in 0..<h {
                for i in 0..<t {
                    var scores = [Double](repeating: 0, count: t)
                    for j in 0..<t {
                        for e in 0..<d {
                            scores[j] += Double(qkv[(n * t + i) * 3 * c + head * d + e])
                                * Double(qkv[(n * t + j) * 3 * c + c + head * d + e])
                        }
                        scores[j] /= Double(d).squareRoot()
                    }
                    let m = scores.max()!
                    let ex = scores.map { exp($0 - m) }
                    let sum = ex.reduce(0, +)
                    for e in 0..<d {
                        var v = 0.0
                        for j in 0..<t { v += ex[j] / sum * Double(qkv[(n * t + j) * 3 * c + 2 * c + head * d + e]) }
                        XCTAssertEqual(Double(out[(n * t + i) * c + head * d + e]), v, accuracy: 1e-5)
                    }
                }
            }
        }
        let dqkv = Buffer(qkv.count), scratch = Buffer(p.count)
        Attention.backward(qkvGradient: dqkv.pointer, scratch: scratch.pointer, outputGradient: r.pointer,
                           qkv: qkv.pointer, probabilities: p.pointer, batch: b, tokens: t, heads: h, headDim: d)
        checkGradient("attention qkv", parameter: qkv, analytic: dqkv, loss: forward)
    }

    func testCrossEntropyWithWeightsAndSmoothing() {
        let n = 4, k = 3
        let z = Buffer(n * k, seed: 13, scale: 3), w = Buffer(k, seed: 14)
        for j in 0..<k { w[j] = abs(w[j]) + 0.5 }
        let labels: [Int32] = [0, 2, 1, 2]
        let eps: Float = 0.1
        func loss() -> Double {
            labels.withUnsafeBufferPointer {
                Double(CrossEntropy.loss(logits: z.pointer, labels: $0.baseAddress!, classWeights: w.pointer,
                                         labelSmoothing: eps, rows: n, classes: k))
            }
        }
        // Direct evaluation of the documented formula.
        var total = 0.0, weightSum = 0.0
        for i in 0..<n {
            let row = (0..<k).map { Double(z[i * k + $0]) }
            let lse = log(row.map(exp).reduce(0, +))
            let y = Int(labels[i])
            var smooth = 0.0
            for j in 0..<k { smooth += Double(w[j]) * (lse - row[j]) }
            total += (1 - Double(eps)) * Double(w[y]) * (lse - row[y]) + Double(eps) / Double(k) * smooth
            weightSum += Double(w[y])
        }
        XCTAssertEqual(loss(), total / weightSum, accuracy: 1e-6)
        let dz = Buffer(n * k)
        labels.withUnsafeBufferPointer {
            CrossEntropy.backward(logitsGradient: dz.pointer, logits: z.pointer, labels: $0.baseAddress!,
                                  classWeights: w.pointer, labelSmoothing: eps, rows: n, classes: k)
        }
        checkGradient("cross-entropy logits", parameter: z, analytic: dz, tolerance: 1e-3, loss: loss)
    }

    func testIm2colMatchesConvolutionIndexing() {
        let b = 2, cin = 3, hgt = 8, wid = 12, p = 4
        let images = Buffer(b * cin * hgt * wid, seed: 15)
        let gh = hgt / p, gw = wid / p, k = cin * p * p
        let cols = Buffer(b * gh * gw * k)
        PatchEmbedding.im2col(columns: cols.pointer, images: images.pointer, batch: b, channels: cin,
                              height: hgt, width: wid, patch: p)
        for n in 0..<b { for gy in 0..<gh { for gx in 0..<gw { for ch in 0..<cin { for ky in 0..<p { for kx in 0..<p {
            let expected = images[((n * cin + ch) * hgt + gy * p + ky) * wid + gx * p + kx]
            XCTAssertEqual(cols[((n * gh + gy) * gw + gx) * k + (ch * p + ky) * p + kx], expected)
        } } } } } }
    }

    /// Row-split products equal one BLAS call, for A read as stored and transposed.
    func testSplittingRowsMatchesOneProduct() {
        let m = 50, n = 7, k = 9
        let a = Buffer(m * k, seed: 17), b = Buffer(k * n, seed: 18)
        let whole = Buffer(m * n), split = Buffer(m * n)
        for trans in [Transpose.none, .transposed] {
            let lda = trans == .none ? k : m
            GEMM.multiply(trans, .none, m: m, n: n, k: k, a: a.pointer, lda: lda, b: b.pointer, ldb: n, c: whole.pointer, ldc: n)
            ParallelRows.useOwnThreads(3)
            GEMM.multiplySplittingRows(trans, .none, m: m, n: n, k: k, a: a.pointer, lda: lda, b: b.pointer, ldb: n,
                                       c: split.pointer, ldc: n)
            ParallelRows.useBLASThreads()
            for i in 0..<(m * n) { XCTAssertEqual(split[i], whole[i], accuracy: 1e-5) }
        }
    }

    func testColumnSumAcrossThreadChunks() {
        let rows = 1000, cols = 3
        let m = Buffer(rows * cols, seed: 16), sums = Buffer(cols)
        sums.zero()
        ColumnSum.accumulate(into: sums.pointer, matrix: m.pointer, rows: rows, columns: cols, stride: cols, partialSums: PartialSums())
        for j in 0..<cols {
            var s = 0.0
            for i in 0..<rows { s += Double(m[i * cols + j]) }
            XCTAssertEqual(Double(sums[j]), s, accuracy: 1e-3)
        }
        // A bf16 matrix sums as its f32 values.
        let bf16 = (0..<(rows * cols)).map { BFloat16.bits(m[$0]) }
        sums.zero()
        ColumnSum.accumulate(into: sums.pointer, matrixBF16: bf16, rows: rows, columns: cols, stride: cols,
                             partialSums: PartialSums())
        for j in 0..<cols {
            var s = 0.0
            for i in 0..<rows { s += Double(BFloat16.float(bf16[i * cols + j])) }
            XCTAssertEqual(Double(sums[j]), s, accuracy: 1e-3)
        }
    }
}
