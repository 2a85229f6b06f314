/// Preallocated working memory for `BilinearResampler`, one per worker thread. Grows (rarely) when
/// a larger image or crop comes along; never allocates per pixel.
public final class ResampleScratch: @unchecked Sendable {
    /// Per output column: first source column, tap count, and `maxTapsX` weights.
    fileprivate var xStart = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    fileprivate var xCount = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    fileprivate var xWeights = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    fileprivate var yStart = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    fileprivate var yCount = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    fileprivate var yWeights = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// Horizontally resampled source rows: (rows, outputWidth, 3).
    fileprivate var rows = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// One vertically resampled output row: (outputWidth, 3).
    fileprivate var accumulator = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var capacities = [Int](repeating: 1, count: 8)

    /// Empty scratch; buffers grow on first use.
    public init() {}

    deinit {
        xStart.deallocate(); xCount.deallocate(); xWeights.deallocate()
        yStart.deallocate(); yCount.deallocate(); yWeights.deallocate()
        rows.deallocate(); accumulator.deallocate()
    }

    fileprivate func reserve(outputWidth: Int, tapsX: Int, outputHeight: Int, tapsY: Int, sourceRows: Int) {
        func grow<T>(_ pointer: inout UnsafeMutablePointer<T>, _ slot: Int, _ needed: Int) {
            if needed > capacities[slot] {
                pointer.deallocate()
                pointer = .allocate(capacity: needed)
                capacities[slot] = needed
            }
        }
        grow(&xStart, 0, outputWidth)
        grow(&xCount, 1, outputWidth)
        grow(&xWeights, 2, outputWidth * tapsX)
        grow(&yStart, 3, outputHeight)
        grow(&yCount, 4, outputHeight)
        grow(&yWeights, 5, outputHeight * tapsY)
        grow(&rows, 6, sourceRows * outputWidth * 3)
        grow(&accumulator, 7, outputWidth * 3)
    }
}

/// Separable bilinear resampling of uint8 HWC images into normalised float CHW, as PyTorch's
/// `interpolate(mode="bilinear", align_corners=False, antialias=True)` computes it (torchvision's
/// default for `Resize` and `RandomResizedCrop` on tensors).
///
/// When downsampling, the triangle filter is widened by the scale factor (antialiasing, as PIL and
/// torchvision do); when upsampling the weights reduce exactly to plain bilinear interpolation with
/// `align_corners=False` (`antialias=False` gives the same numbers), so one path serves both. Output
/// values are not rounded back to uint8 (torchvision's uint8 path would), a difference of at most
/// 0.5/255 before normalisation.
public enum BilinearResampler {
    /// The most taps one output pixel can use along an axis of `inputSize` scaled to `outputSize`.
    static func maxTaps(inputSize: Int, outputSize: Int) -> Int {
        let support = max(Double(inputSize) / Double(outputSize), 1)
        return Int((2 * support).rounded(.up)) + 1
    }

    /// Filter weights along one axis for outputs `first..<first+count` of an `inputSize` ->
    /// `outputSize` resize: output i reads inputs `start[i]..<start[i]+taps[i]` with
    /// `weights[i*stride + k]`, normalised to sum 1.
    static func computeWeights(inputSize: Int, outputSize: Int, first: Int, count: Int,
                               start: UnsafeMutablePointer<Int>, taps: UnsafeMutablePointer<Int>,
                               weights: UnsafeMutablePointer<Float>, stride: Int) {
        let scale = Double(inputSize) / Double(outputSize)
        let support = scale >= 1 ? scale : 1
        let inverse = scale >= 1 ? 1 / scale : 1
        for i in 0..<count {
            let center = scale * (Double(first + i) + 0.5)
            // Truncation toward zero, then clamping, as PyTorch's index computation does.
            let low = max(Int(center - support + 0.5), 0)
            let high = min(Int(center + support + 0.5), inputSize)
            let n = min(high - low, stride)
            let w = weights + i * stride
            var total = 0.0
            for k in 0..<n {
                let distance = abs((Double(low + k) - center + 0.5) * inverse)
                let value = distance < 1 ? 1 - distance : 0
                w[k] = Float(value)
                total += value
            }
            if total > 0 {
                let norm = Float(1 / total)
                for k in 0..<n { w[k] *= norm }
            }
            start[i] = low
            taps[i] = n
        }
    }

    /// Resamples `geometry`'s region of `source` into `output`, normalising each channel c as
    /// `value * scale[c] + shift[c]` (value in 0...255).
    ///
    /// - Parameters:
    ///   - source: uint8 (sourceHeight, sourceWidth, 3), row-major.
    ///   - output: float (3, outputHeight, outputWidth) of `geometry`.
    ///   - scale, shift: three values each (for torchvision's Normalize: 1/(255 std), -mean/std).
    /// - Precondition: the region lies inside the source; the window inside the scaled image.
    /// - Complexity: O((rows used x outputWidth x tapsX + outputHeight x outputWidth x tapsY) x 3).
    public static func resample(source: UnsafePointer<UInt8>, sourceHeight: Int, sourceWidth: Int, geometry g: CropGeometry,
                                scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                output: UnsafeMutablePointer<Float>, scratch: ResampleScratch) {
        precondition(g.top >= 0 && g.left >= 0 && g.height > 0 && g.width > 0
                     && g.top + g.height <= sourceHeight && g.left + g.width <= sourceWidth,
                     "crop \(g) outside the \(sourceHeight)x\(sourceWidth) source")
        precondition(g.windowTop >= 0 && g.windowLeft >= 0 && g.windowTop + g.outputHeight <= g.scaledHeight
                     && g.windowLeft + g.outputWidth <= g.scaledWidth, "window \(g) outside the scaled image")
        let outW = g.outputWidth, outH = g.outputHeight
        let tapsX = maxTaps(inputSize: g.width, outputSize: g.scaledWidth)
        let tapsY = maxTaps(inputSize: g.height, outputSize: g.scaledHeight)
        scratch.reserve(outputWidth: outW, tapsX: tapsX, outputHeight: outH, tapsY: tapsY, sourceRows: g.height)
        let xStart = scratch.xStart, xCount = scratch.xCount, xWeights = scratch.xWeights
        let yStart = scratch.yStart, yCount = scratch.yCount, yWeights = scratch.yWeights
        computeWeights(inputSize: g.width, outputSize: g.scaledWidth, first: g.windowLeft, count: outW,
                       start: xStart, taps: xCount, weights: xWeights, stride: tapsX)
        computeWeights(inputSize: g.height, outputSize: g.scaledHeight, first: g.windowTop, count: outH,
                       start: yStart, taps: yCount, weights: yWeights, stride: tapsY)

        // Region rows the vertical taps touch (starts never decrease along the axis).
        let rowLow = yStart[0]
        var rowHigh = rowLow
        for y in 0..<outH { rowHigh = max(rowHigh, yStart[y] + yCount[y]) }

        // Horizontal pass: region rows rowLow..<rowHigh -> rows (r, outW, 3).
        let rowLength = outW * 3
        let rows = scratch.rows
        for r in rowLow..<rowHigh {
            let sourceRow = source + ((g.top + r) * sourceWidth + g.left) * 3
            let destination = rows + (r - rowLow) * rowLength
            for x in 0..<outW {
                let s = sourceRow + xStart[x] * 3
                let w = xWeights + x * tapsX
                var a0: Float = 0, a1: Float = 0, a2: Float = 0
                for k in 0..<xCount[x] {
                    let wk = w[k]
                    a0 += wk * Float(s[3 * k])
                    a1 += wk * Float(s[3 * k + 1])
                    a2 += wk * Float(s[3 * k + 2])
                }
                destination[3 * x] = a0
                destination[3 * x + 1] = a1
                destination[3 * x + 2] = a2
            }
        }

        // Vertical pass into one accumulated row, then flip, normalise and scatter to CHW.
        let accumulator = scratch.accumulator
        let plane = outH * outW
        let scale0 = scale[0], scale1 = scale[1], scale2 = scale[2]
        let shift0 = shift[0], shift1 = shift[1], shift2 = shift[2]
        for y in 0..<outH {
            let w = yWeights + y * tapsY
            let first = rows + (yStart[y] - rowLow) * rowLength
            let w0 = w[0]
            for i in 0..<rowLength { accumulator[i] = w0 * first[i] }
            var k = 1
            while k < yCount[y] {
                let row = first + k * rowLength
                let wk = w[k]
                for i in 0..<rowLength { accumulator[i] += wk * row[i] }
                k += 1
            }
            let out0 = output + y * outW, out1 = out0 + plane, out2 = out1 + plane
            if g.flip {
                for x in 0..<outW {
                    let o = outW - 1 - x
                    out0[o] = accumulator[3 * x] * scale0 + shift0
                    out1[o] = accumulator[3 * x + 1] * scale1 + shift1
                    out2[o] = accumulator[3 * x + 2] * scale2 + shift2
                }
            } else {
                for x in 0..<outW {
                    out0[x] = accumulator[3 * x] * scale0 + shift0
                    out1[x] = accumulator[3 * x + 1] * scale1 + shift1
                    out2[x] = accumulator[3 * x + 2] * scale2 + shift2
                }
            }
        }
    }
}
