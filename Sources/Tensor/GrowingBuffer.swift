/// A buffer that only grows: scratch a hot loop reuses (the bf16 operand copies of one thread, the
/// partial sums of a backward), so it allocates only the first time it needs more room.
struct GrowingBuffer<Element> {
    private var pointer: UnsafeMutablePointer<Element>?
    private var capacity = 0

    /// At least `count` elements (contents undefined).
    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity || pointer == nil {
            pointer?.deallocate()
            capacity = max(count, 1)
            pointer = .allocate(capacity: capacity)
        }
        return pointer!
    }

    /// Frees the storage (an owner that goes away calls it; the buffer can grow again after).
    mutating func deallocate() {
        pointer?.deallocate()
        pointer = nil
        capacity = 0
    }
}
