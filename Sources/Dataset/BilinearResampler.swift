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
    /// Horizontally resampled source rows, channel-planar: (3, rows, outputWidth).
    fileprivate var rows = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// One region row of the source as floats: (width, 3) plus one float of padding, so a
    /// 4-float load at the last pixel stays inside.
    fileprivate var sourceRow = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var capacities = [Int](repeating: 1, count: 8)

    /// Empty scratch; buffers grow on first use.
    public init() {}

    deinit {
        xStart.deallocate(); xCount.deallocate(); xWeights.deallocate()
        yStart.deallocate(); yCount.deallocate(); yWeights.deallocate()
        rows.deallocate(); sourceRow.deallocate()
    }

    fileprivate func reserve(outputWidth: Int, tapsX: Int, outputHeight: Int, tapsY: Int, sourceRows: Int, sourceColumns: Int) {
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
        grow(&sourceRow, 7, sourceColumns * 3 + 1)
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
    ///
    /// Layout of the work: each region row is widened to floats once; the horizontal pass keeps
    /// the three channels of a pixel in one `SIMD4<Float>` (one load and one multiply-add per tap)
    /// and writes channel-planar rows, already mirrored; the vertical pass then runs over
    /// contiguous rows per channel, with the normalisation folded into its weights.
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
        scratch.reserve(outputWidth: outW, tapsX: tapsX, outputHeight: outH, tapsY: tapsY,
                        sourceRows: g.height, sourceColumns: g.width)
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

        // Horizontal pass: region rows rowLow..<rowHigh -> rows (3, rowCount, outW), mirrored if asked.
        let rowCount = rowHigh - rowLow
        let plane = rowCount * outW
        let rows = scratch.rows, sourceRow = scratch.sourceRow
        let regionWidth3 = g.width * 3
        sourceRow[regionWidth3] = 0  // the padding float read by the last pixel's 4-wide load
        for r in rowLow..<rowHigh {
            let bytes = source + ((g.top + r) * sourceWidth + g.left) * 3
            for i in 0..<regionWidth3 { sourceRow[i] = Float(bytes[i]) }
            let row0 = rows + (r - rowLow) * outW, row1 = row0 + plane, row2 = row1 + plane
            for x in 0..<outW {
                let s = UnsafeRawPointer(sourceRow + xStart[x] * 3)
                let w = xWeights + x * tapsX
                var sum = SIMD4<Float>(repeating: 0)
                for k in 0..<xCount[x] {
                    sum += w[k] * s.loadUnaligned(fromByteOffset: 12 * k, as: SIMD4<Float>.self)
                }
                let o = g.flip ? outW - 1 - x : x
                row0[o] = sum[0]
                row1[o] = sum[1]
                row2[o] = sum[2]
            }
        }

        // Vertical pass per channel: out[c][y] = shift[c] + sum_k (w_k * scale[c]) * rows[c][start + k].
        let outPlane = outH * outW
        for c in 0..<3 {
            let channelRows = rows + c * plane
            let channelScale = scale[c], channelShift = shift[c]
            for y in 0..<outH {
                let w = yWeights + y * tapsY
                let out = output + c * outPlane + (g.verticalFlip ? outH - 1 - y : y) * outW
                let first = channelRows + (yStart[y] - rowLow) * outW
                let w0 = w[0] * channelScale
                for x in 0..<outW { out[x] = channelShift + w0 * first[x] }
                var k = 1
                while k < yCount[y] {
                    let row = first + k * outW
                    let wk = w[k] * channelScale
                    for x in 0..<outW { out[x] += wk * row[x] }
                    k += 1
                }
            }
        }
    }
}
