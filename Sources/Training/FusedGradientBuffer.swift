/// The one buffer a data-parallel step reduces: the trainable gradient ranges back to back,
/// followed by a few scalars every rank contributes (loss sum, weight sum, stop and non-finite
/// flags). One `allReduceSum` over it gives every rank the global sums.
///
/// Layout: `[g(range 0) | g(range 1) | ... | scalars(scalarCount)]`, floats.
public final class FusedGradientBuffer {
    /// Element ranges of the flat gradient buffer that are packed, ascending and disjoint.
    public let ranges: [Range<Int>]
    /// Gradient elements packed (the sum of the range lengths).
    public let gradientCount: Int
    /// Scalars after the gradients.
    public let scalarCount: Int
    /// The buffer: `gradientCount + scalarCount` floats.
    public let storage: UnsafeMutableBufferPointer<Float>

    /// A buffer for `ranges` of a flat gradient and `scalarCount` trailing scalars.
    public init(ranges: [Range<Int>], scalarCount: Int) {
        self.ranges = ranges
        gradientCount = ranges.reduce(0) { $0 + $1.count }
        self.scalarCount = scalarCount
        storage = .allocate(capacity: gradientCount + scalarCount)
        storage.initialize(repeating: 0)
    }

    deinit { storage.deallocate() }

    /// Copies the packed ranges of `gradients` in (set the scalars with `setScalar`).
    public func pack(from gradients: UnsafePointer<Float>) {
        var at = 0
        for r in ranges {
            (storage.baseAddress! + at).update(from: gradients + r.lowerBound, count: r.count)
            at += r.count
        }
    }

    /// Sets the scalar `i` (before a reduce: this rank's contribution).
    public func setScalar(_ i: Int, _ value: Float) { storage[gradientCount + i] = value }

    /// The scalar `i` (after a reduce: its sum over ranks).
    public func scalar(_ i: Int) -> Float { storage[gradientCount + i] }

    /// Copies the packed gradients back into their ranges of `gradients`, each multiplied by `scale`.
    public func unpack(into gradients: UnsafeMutablePointer<Float>, scale: Float) {
        var at = 0
        let source = storage.baseAddress!
        for r in ranges {
            let dst = gradients + r.lowerBound, src = source + at
            for i in 0..<r.count { dst[i] = src[i] * scale }
            at += r.count
        }
    }
}
