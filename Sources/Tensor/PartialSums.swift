/// Grow-only scratch for per-thread-chunk partial sums (layer-norm and bias gradients), kept by the
/// caller so a backward pass allocates only the first time it needs more room.
public final class PartialSums {
    private var buffer = GrowingBuffer<Float>()

    public init() {}

    deinit { buffer.deallocate() }

    /// At least `count` floats, zeroed.
    public func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let storage = buffer.reserve(count)
        storage.initialize(repeating: 0, count: count)
        return storage
    }
}
