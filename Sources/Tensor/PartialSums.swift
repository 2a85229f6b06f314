/// Grow-only scratch for per-thread-chunk partial sums (layer-norm and bias gradients), kept by the
/// caller so a backward pass allocates only the first time it needs more room.
public final class PartialSums {
    public private(set) var capacity = 0
    private var storage: UnsafeMutablePointer<Float>?

    public init() {}

    deinit { storage?.deallocate() }

    /// At least `count` floats, zeroed.
    public func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity || storage == nil {
            storage?.deallocate()
            storage = .allocate(capacity: max(count, 1))
            capacity = max(count, 1)
        }
        storage!.initialize(repeating: 0, count: count)
        return storage!
    }
}
