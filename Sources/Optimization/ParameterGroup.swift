/// A contiguous range of the flat parameter and gradient buffers that an optimizer updates, with
/// its own weight decay (callers put norms and biases in groups with `weightDecay` 0).
///
/// Parameters outside every group are frozen: the optimizer neither reads nor writes them and
/// keeps no state for them.
public struct ParameterGroup: Sendable, Hashable {
    /// Index of the first element in the flat buffers.
    public var offset: Int
    /// Number of elements.
    public var count: Int
    /// Weight decay (>= 0, as torch requires; callers validate user input): coupled (added to the
    /// gradient) for SGD and RMSprop, decoupled for AdamW.
    public var weightDecay: Double
    /// The group's learning rate is the step's rate times this (torch: a param group whose `lr` is
    /// the base rate times it, scaled alike by the schedule).
    public var learningRateScale: Double

    /// A group of `count` elements starting at `offset`.
    /// - Precondition: `offset >= 0`, `count >= 0`.
    public init(offset: Int, count: Int, weightDecay: Double = 0, learningRateScale: Double = 1) {
        precondition(offset >= 0 && count >= 0, "ParameterGroup needs offset >= 0 and count >= 0, got \(offset), \(count)")
        self.offset = offset
        self.count = count
        self.weightDecay = weightDecay
        self.learningRateScale = learningRateScale
    }

    /// This group's learning rate for a step at `learningRate`.
    public func learningRate(_ learningRate: Float) -> Double { Double(learningRate) * learningRateScale }

    /// The elements covered, `offset ..< offset + count`.
    public var range: Range<Int> { offset..<(offset + count) }
}

extension Array where Element == ParameterGroup {
    /// Checks that the groups are disjoint and lie inside a buffer of `bufferCount` elements.
    func preconditionDisjoint(within bufferCount: Int) {
        let sorted = self.filter { $0.count > 0 }.sorted { $0.offset < $1.offset }
        var end = 0
        for group in sorted {
            precondition(group.offset >= end, "parameter groups overlap at element \(group.offset)")
            precondition(group.offset + group.count <= bufferCount,
                         "parameter group \(group.range) exceeds the buffer of \(bufferCount) elements")
            end = group.offset + group.count
        }
    }
}
