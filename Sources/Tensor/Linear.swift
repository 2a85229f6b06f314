import Foundation

/// A fully connected layer as `torch.nn.Linear`: `output = input · weightᵀ + bias`.
///
/// Shapes: `input` (N, C), `weight` (OC, C) (PyTorch layout), `bias` (OC), `output` (N, OC).
/// Every product goes through `GEMM` in `mode`, one call over all N rows.
public enum Linear {
    /// Writes `output` (N, OC), or adds to it when `accumulate`; `output` rows are `outputStride`
    /// apart (≥ OC), so a layer can write into a slice of a wider buffer. With `residual` (N, OC,
    /// rows as `output`'s) the output is `residual + input · weightᵀ + bias`: a residual connection,
    /// added in the product's epilogue on oneDNN (no copy of the stream into `output` first). With
    /// `gelu` the output is `GELU(input · weightᵀ + bias)` (a layer whose pre-activation nobody
    /// keeps: inference, frozen blocks).
    public static func forward(
        output: UnsafeMutablePointer<Float>, outputStride: Int? = nil, accumulate: Bool = false,
        residual: UnsafePointer<Float>? = nil,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows n: Int, inFeatures c: Int, outFeatures oc: Int, gelu: Bool = false, mode: GEMMMode = .openblasFP32
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endLayer(clock, "linear forward, \(mode)" + (gelu ? ", GELU" : "") + (accumulate ? ", adds to output" : "")
                                   + (residual != nil ? ", residual" : ""), rows: n, inFeatures: c, outFeatures: oc)
        }
        precondition(!(accumulate && residual != nil), "a layer adds a residual or accumulates, not both")
        precondition(residual != UnsafePointer(output), "the residual must not be the output (the product reads it whole)")
        let ldo = outputStride ?? oc
        // (N, C) · (OC, C)ᵀ: NT; bias, GELU and the residual in the product's epilogue (oneDNN) or passes around it.
        GEMM.multiplySplittingRows(.none, .transposed, m: n, n: oc, k: c, a: input, lda: c, b: weight, ldb: c,
                                   beta: accumulate ? 1 : 0, c: output, ldc: ldo, bias: bias, gelu: gelu, residual: residual,
                                   mode: mode)
    }

    /// `forward` on an input already in bf16 (`UInt16` bits, rows `inFeatures` apart), on oneDNN
    /// with bf16 operands: the layer after a kernel that writes its output in bf16. With `residual`
    /// (N, OC) the output is `residual + input · weightᵀ + bias`, added in the product's epilogue
    /// (a residual connection without copying the stream into `output` first).
    public static func forward(
        output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>? = nil, inputBF16: UnsafePointer<UInt16>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows n: Int, inFeatures c: Int, outFeatures oc: Int
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endLayer(clock, "linear forward, bf16 in" + (residual != nil ? ", residual" : ""),
                                   rows: n, inFeatures: c, outFeatures: oc)
        }
        BFloat16Operands.shared.forward(output: output, residual: residual, input: inputBF16, weight: weight, bias: bias,
                                        rows: n, inFeatures: c, outFeatures: oc)
    }

    /// `forward` on oneDNN with bf16 operands writing `outputBF16` (N, OC) in bf16 (`GELU(·)` with
    /// `gelu`): the input of a next bf16 product, rounded in this product's epilogue.
    public static func forward(
        outputBF16: UnsafeMutablePointer<UInt16>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows n: Int, inFeatures c: Int, outFeatures oc: Int, gelu: Bool = false
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endLayer(clock, "linear forward, bf16 out" + (gelu ? ", GELU" : ""),
                                   rows: n, inFeatures: c, outFeatures: oc)
        }
        BFloat16Operands.shared.forward(outputBF16: outputBF16, input: .float32(input), weight: weight, bias: bias,
                                        rows: n, inFeatures: c, outFeatures: oc, gelu: gelu)
    }

    /// `forward(outputBF16:)` on an input already in bf16 (rows `inFeatures` apart): a layer between
    /// two kernels that read and write bf16 (a norm's output in, attention's or fc2's operand out).
    public static func forward(
        outputBF16: UnsafeMutablePointer<UInt16>, inputBF16: UnsafePointer<UInt16>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows n: Int, inFeatures c: Int, outFeatures oc: Int, gelu: Bool = false
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endLayer(clock, "linear forward, bf16 in and out" + (gelu ? ", GELU" : ""),
                                   rows: n, inFeatures: c, outFeatures: oc)
        }
        BFloat16Operands.shared.forward(outputBF16: outputBF16, input: .bfloat16(inputBF16), weight: weight, bias: bias,
                                        rows: n, inFeatures: c, outFeatures: oc, gelu: gelu)
    }

    /// The gradients of `forward`, each only when its buffer is given (frozen weight: no product).
    ///
    /// - `inputGradient` (N, C): `+=` when `accumulateInput`, else overwritten; `dout · weight` (NN).
    /// - `weightGradient` (OC, C) `+= doutᵀ · input` (TN).
    /// - `biasGradient` (OC) `+=` column sums of `dout`.
    ///
    /// With bf16 operands, `inputBF16` (the input already rounded, as `forward(inputBF16:)` took it)
    /// replaces `input` for the weight gradient.
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>?, accumulateInput: Bool = true,
        weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?,
        outputGradient: UnsafePointer<Float>, outputStride: Int? = nil,
        input: UnsafePointer<Float>, inputBF16: UnsafePointer<UInt16>? = nil, weight: UnsafePointer<Float>,
        rows n: Int, inFeatures c: Int, outFeatures oc: Int, partialSums: PartialSums,
        mode: GEMMMode = .openblasFP32
    ) {
        precondition(inputBF16 == nil || mode == .onednnBF16, "a bf16 input needs bf16 products, not \(mode)")
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endLayer(clock, "linear backward, \(mode)", rows: n, inFeatures: c, outFeatures: oc,
                                   products: products(inputGradient != nil, weightGradient != nil))
        }
        let ldo = outputStride ?? oc
        if mode == .onednnBF16 && (inputGradient != nil || weightGradient != nil) {
            BFloat16Operands.shared.backward(inputGradient: inputGradient.map { .float32($0) }, accumulateInput: accumulateInput,
                                             weightGradient: weightGradient, outputGradient: outputGradient, outputStride: ldo,
                                             input: inputBF16.map { .bfloat16($0) } ?? .float32(input), weight: weight, rows: n,
                                             inFeatures: c, outFeatures: oc)
        } else if let inputGradient {
            GEMM.multiplySplittingRows(.none, .none, m: n, n: c, k: oc, a: outputGradient, lda: ldo, b: weight, ldb: c,
                          beta: accumulateInput ? 1 : 0, c: inputGradient, ldc: c, mode: mode)
        }
        if let weightGradient, mode != .onednnBF16 {
            GEMM.multiplySplittingRows(.transposed, .none, m: oc, n: c, k: n, a: outputGradient, lda: ldo, b: input, ldb: c,
                          beta: 1, c: weightGradient, ldc: c, mode: mode)
        }
        if let biasGradient {
            ColumnSum.accumulate(into: biasGradient, matrix: outputGradient, rows: n, columns: oc, stride: ldo,
                                 partialSums: partialSums)
        }
    }
}

extension Linear {
    /// `backward` with bf16 operands writing dL/dinput in bf16 (N, C), overwritten: the output
    /// gradient of a bf16 kernel below (GELU's backward), rounded in the product's epilogue.
    /// `inputBF16` is the input as `forward(inputBF16:)` took it; the other gradients as in `backward`.
    public static func backward(
        inputGradientBF16: UnsafeMutablePointer<UInt16>?, weightGradient: UnsafeMutablePointer<Float>?,
        biasGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>, inputBF16: UnsafePointer<UInt16>,
        weight: UnsafePointer<Float>, rows n: Int, inFeatures c: Int, outFeatures oc: Int, partialSums: PartialSums
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endLayer(clock, "linear backward, bf16 input gradient", rows: n, inFeatures: c, outFeatures: oc,
                                   products: products(inputGradientBF16 != nil, weightGradient != nil))
        }
        if inputGradientBF16 != nil || weightGradient != nil {
            BFloat16Operands.shared.backward(inputGradient: inputGradientBF16.map { .bfloat16($0) }, accumulateInput: false,
                                             weightGradient: weightGradient, outputGradient: outputGradient, outputStride: oc,
                                             input: .bfloat16(inputBF16), weight: weight, rows: n, inFeatures: c,
                                             outFeatures: oc)
        }
        if let biasGradient {
            ColumnSum.accumulate(into: biasGradient, matrix: outputGradient, rows: n, columns: oc, stride: oc,
                                 partialSums: partialSums)
        }
    }

    /// `backward` with bf16 operands on an output gradient already in bf16 (N, OC), dense rows (a
    /// bf16 kernel's output: GELU's backward), and an input kept in bf16 (N, C) (a norm's output);
    /// the bias gradient sums the output gradient in f32.
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>?, accumulateInput: Bool = true,
        weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?,
        outputGradientBF16: UnsafePointer<UInt16>, inputBF16: UnsafePointer<UInt16>, weight: UnsafePointer<Float>,
        rows n: Int, inFeatures c: Int, outFeatures oc: Int, partialSums: PartialSums
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endLayer(clock, "linear backward, bf16 output gradient", rows: n, inFeatures: c, outFeatures: oc,
                                   products: products(inputGradient != nil, weightGradient != nil))
        }
        if inputGradient != nil || weightGradient != nil {
            BFloat16Operands.shared.backward(inputGradient: inputGradient.map { .float32($0) }, accumulateInput: accumulateInput,
                                             weightGradient: weightGradient, outputGradientBF16: outputGradientBF16,
                                             input: .bfloat16(inputBF16), weight: weight, rows: n, inFeatures: c, outFeatures: oc)
        }
        if let biasGradient {
            ColumnSum.accumulate(into: biasGradient, matrixBF16: outputGradientBF16, rows: n, columns: oc, stride: oc,
                                 partialSums: partialSums)
        }
    }
}

extension Linear {
    /// A backward's (N, C, OC) products: one per gradient asked for.
    static func products(_ inputGradient: Bool, _ weightGradient: Bool) -> Int {
        (inputGradient ? 1 : 0) + (weightGradient ? 1 : 0)
    }
}

extension Linear {
    /// The bf16 copies of a layer's backward operands: the output gradient, read by both products,
    /// is rounded once (and the weight and input once each).
    final class BFloat16Operands: @unchecked Sendable {
        static let shared = BFloat16Operands()
        private var outputGradient = GrowingBuffer<UInt16>(), operand = GrowingBuffer<UInt16>()
        private var input = GrowingBuffer<UInt16>()
        private let lock = NSLock()

        /// `Linear.forward(inputBF16:)`: the weight rounded, bias in the epilogue.
        func forward(output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, input: UnsafePointer<UInt16>,
                     weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows n: Int, inFeatures c: Int, outFeatures oc: Int) {
            lock.lock()
            defer { lock.unlock() }
            let weight16 = operand.reserve(oc * c)
            GEMM.roundToBFloat16(rows: oc, columns: c, from: weight, stride: c, to: weight16)
            GEMM.multiplySplittingRows(.none, .transposed, m: n, n: oc, k: c, a: input, lda: c, b: weight16, ldb: c,
                                       c: output, ldc: oc, bias: bias, residual: residual)
        }

        /// `Linear.forward(outputBF16:)`: input (unless bf16) and weight rounded, bias and GELU in the epilogue.
        func forward(outputBF16: UnsafeMutablePointer<UInt16>, input x: Operand, weight: UnsafePointer<Float>,
                     bias: UnsafePointer<Float>?, rows n: Int, inFeatures c: Int, outFeatures oc: Int, gelu: Bool) {
            lock.lock()
            defer { lock.unlock() }
            let input16 = Self.bf16(x, rows: n, columns: c, scratch: &input)
            let weight16 = operand.reserve(oc * c)
            GEMM.roundToBFloat16(rows: oc, columns: c, from: weight, stride: c, to: weight16)
            GEMM.multiplySplittingRows(.none, .transposed, m: n, n: oc, k: c, a: input16, lda: c, b: weight16, ldb: c,
                                       c: outputBF16, ldc: oc, bias: bias, gelu: gelu)
        }

        /// `Linear.backward`'s two products with bf16 operands, the output gradient rounded once.
        func backward(inputGradient: Destination?, accumulateInput: Bool,
                      weightGradient: UnsafeMutablePointer<Float>?, outputGradient dout: UnsafePointer<Float>,
                      outputStride ldo: Int, input: Operand, weight: UnsafePointer<Float>, rows n: Int, inFeatures c: Int,
                      outFeatures oc: Int) {
            lock.lock()
            defer { lock.unlock() }
            let dout16 = outputGradient.reserve(n * oc)
            GEMM.roundToBFloat16(rows: n, columns: oc, from: dout, stride: ldo, to: dout16)
            products(inputGradient: inputGradient, accumulateInput: accumulateInput, weightGradient: weightGradient,
                     dout16: dout16, input: input, weight: weight, rows: n, inFeatures: c, outFeatures: oc)
        }

        /// `Linear.backward(outputGradientBF16:)`'s products: the output gradient used as it is.
        func backward(inputGradient: Destination?, accumulateInput: Bool,
                      weightGradient: UnsafeMutablePointer<Float>?, outputGradientBF16 dout16: UnsafePointer<UInt16>,
                      input: Operand, weight: UnsafePointer<Float>, rows n: Int, inFeatures c: Int, outFeatures oc: Int) {
            lock.lock()
            defer { lock.unlock() }
            products(inputGradient: inputGradient, accumulateInput: accumulateInput, weightGradient: weightGradient,
                     dout16: dout16, input: input, weight: weight, rows: n, inFeatures: c, outFeatures: oc)
        }

        /// dL/dinput (N, C) (+)= dout16 (N, OC) · weight (OC, C) (NN), in f32, or overwritten in bf16
        /// (rounded in the product's epilogue); dL/dweight (OC, C) += dout16ᵀ · input (TN), each
        /// operand rounded once. Called with the lock held.
        private func products(inputGradient: Destination?, accumulateInput: Bool,
                              weightGradient: UnsafeMutablePointer<Float>?, dout16: UnsafePointer<UInt16>,
                              input: Operand, weight: UnsafePointer<Float>,
                              rows n: Int, inFeatures c: Int, outFeatures oc: Int) {
            switch inputGradient {
            case .float32(let dx):
                GEMM.multiplySplittingRows(.none, .none, m: n, n: c, k: oc, a: dout16, lda: oc, b: roundedWeight(weight, oc, c),
                                           ldb: c, beta: accumulateInput ? 1 : 0, c: dx, ldc: c)
            case .bfloat16(let dx):
                precondition(!accumulateInput, "a bf16 input gradient is overwritten, not accumulated")
                GEMM.multiplySplittingRows(.none, .none, m: n, n: c, k: oc, a: dout16, lda: oc, b: roundedWeight(weight, oc, c),
                                           ldb: c, c: dx, ldc: c)
            case nil:
                break
            }
            guard let weightGradient else { return }
            let input16 = Self.bf16(input, rows: n, columns: c, scratch: &operand)
            GEMM.multiplySplittingRows(.transposed, .none, m: oc, n: c, k: n, a: dout16, lda: oc, b: input16, ldb: c,
                                       beta: 1, c: weightGradient, ldc: c)
        }

        /// A dense (rows, columns) input as bf16: as it is, or rounded into `scratch` (valid until its next use).
        private static func bf16(_ x: Operand, rows: Int, columns: Int, scratch: inout GrowingBuffer<UInt16>) -> UnsafePointer<UInt16> {
            switch x {
            case .bfloat16(let rounded):
                return rounded
            case .float32(let values):
                let copy = scratch.reserve(rows * columns)
                GEMM.roundToBFloat16(rows: rows, columns: columns, from: values, stride: columns, to: copy)
                return UnsafePointer(copy)
            }
        }

        /// The (rows, columns) weight rounded into the operand buffer (valid until its next use).
        private func roundedWeight(_ weight: UnsafePointer<Float>, _ rows: Int, _ columns: Int) -> UnsafePointer<UInt16> {
            let weight16 = operand.reserve(rows * columns)
            GEMM.roundToBFloat16(rows: rows, columns: columns, from: weight, stride: columns, to: weight16)
            return UnsafePointer(weight16)
        }
    }
}

/// Column sums of a row-major matrix (bias gradients, position-embedding gradients).
public enum ColumnSum {
    /// `sums[j] += Σ_i matrix[i * stride + j]` for j in 0..<columns; rows are split across threads
    /// into per-chunk partial sums (in `partialSums`) added in chunk order.
    public static func accumulate(into sums: UnsafeMutablePointer<Float>, matrix: UnsafePointer<Float>,
                                  rows: Int, columns: Int, stride: Int, partialSums: PartialSums) {
        accumulate(into: sums, rows: rows, columns: columns, partialSums: partialSums) { partial, i in
            let row = matrix + i * stride
            for j in 0..<columns { partial[j] += row[j] }
        }
    }

    /// `accumulate` over a bf16 matrix (`UInt16` bits), widened as it is read: sums in f32.
    public static func accumulate(into sums: UnsafeMutablePointer<Float>, matrixBF16 matrix: UnsafePointer<UInt16>,
                                  rows: Int, columns: Int, stride: Int, partialSums: PartialSums) {
        accumulate(into: sums, rows: rows, columns: columns, partialSums: partialSums) { partial, i in
            let row = matrix + i * stride
            for j in 0..<columns { partial[j] += BFloat16.float(row[j]) }
        }
    }

    /// The chunked reduction: `addRow(partial, i)` adds row i into its chunk's `columns` partial
    /// sums, which are then added into `sums` in chunk order.
    @inline(__always)
    private static func accumulate(into sums: UnsafeMutablePointer<Float>, rows: Int, columns: Int, partialSums: PartialSums,
                                   addRow: (_ partial: UnsafeMutablePointer<Float>, _ row: Int) -> Void) {
        let chunks = ParallelRows.chunkCount(count: rows, minimumChunk: 256)
        let partial = partialSums.zeroed(chunks * columns)
        ParallelRows.forEach(count: rows, chunks: chunks) { chunk, range in
            for i in range { addRow(partial + chunk * columns, i) }
        }
        for chunk in 0..<chunks {
            let p = partial + chunk * columns
            for j in 0..<columns { sums[j] += p[j] }
        }
    }
}
