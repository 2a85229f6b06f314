/// One batch in preallocated buffers, reused from batch to batch (no allocation per batch).
///
/// Rows `0..<validCount` hold samples; the rest of a last partial batch is padding: zero images,
/// label 0, group -1, empty id, sample index -1. Consumers use `validCount`.
public final class Batch: @unchecked Sendable {
    /// Rows the buffers hold (B).
    public let capacity: Int
    /// Image height and width (S).
    public let imageSize: Int
    /// Number of attributes (A).
    public let attributeCount: Int
    /// Normalised images, float (B, 3, S, S), NCHW: what the ViT engine consumes.
    public let images: UnsafeMutableBufferPointer<Float>
    /// Class labels (B).
    public let labels: UnsafeMutableBufferPointer<Int>
    /// Group ids, (A, B): attribute a's row is `groups(attribute: a)`; -1 unknown.
    public let groupTable: UnsafeMutableBufferPointer<Int>
    /// Sample index within the split (B).
    public let sampleIndices: UnsafeMutableBufferPointer<Int>
    /// Sample ids (B), as stored in `ids/sample`.
    public internal(set) var sampleIDs: [String]
    /// Rows holding samples; less than `capacity` only for a last partial batch.
    public internal(set) var validCount = 0
    /// The epoch the batch belongs to (for logs).
    public internal(set) var epoch = 0
    /// The batch's position within its epoch's plan.
    public internal(set) var index = 0

    /// Allocates buffers for `capacity` rows of `imageSize` x `imageSize` images.
    public init(capacity: Int, imageSize: Int, attributeCount: Int) {
        precondition(capacity > 0 && imageSize > 0 && attributeCount >= 0, "bad batch shape")
        self.capacity = capacity
        self.imageSize = imageSize
        self.attributeCount = attributeCount
        images = .allocate(capacity: capacity * 3 * imageSize * imageSize)
        images.initialize(repeating: 0)
        labels = .allocate(capacity: capacity)
        labels.initialize(repeating: 0)
        groupTable = .allocate(capacity: max(attributeCount * capacity, 1))
        groupTable.initialize(repeating: -1)
        sampleIndices = .allocate(capacity: capacity)
        sampleIndices.initialize(repeating: -1)
        sampleIDs = Array(repeating: "", count: capacity)
    }

    deinit {
        images.deallocate()
        labels.deallocate()
        groupTable.deallocate()
        sampleIndices.deallocate()
    }

    /// Floats per image (3 x S x S).
    public var imageStride: Int { 3 * imageSize * imageSize }

    /// Row `row`'s image, float (3, S, S).
    public func image(_ row: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: images[(row * imageStride)..<((row + 1) * imageStride)])
    }

    /// Group ids of attribute `a` for every row (B).
    public func groups(attribute a: Int) -> UnsafeMutableBufferPointer<Int> {
        UnsafeMutableBufferPointer(rebasing: groupTable[(a * capacity)..<((a + 1) * capacity)])
    }

    /// Makes rows `from..<capacity` padding.
    func pad(from row: Int) {
        guard row < capacity else { return }
        UnsafeMutableBufferPointer(rebasing: images[(row * imageStride)...]).update(repeating: 0)
        for r in row..<capacity {
            labels[r] = 0
            sampleIndices[r] = -1
            sampleIDs[r] = ""
            for a in 0..<attributeCount { groupTable[a * capacity + r] = -1 }
        }
    }
}
