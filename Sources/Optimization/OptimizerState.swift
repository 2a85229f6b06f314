#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An optimizer's complete state, for checkpoints: restoring it into a new optimizer of the same
/// kind and settings makes the following steps bit-identical to an uninterrupted run.
public struct OptimizerState: Sendable, Equatable {
    /// The state of one parameter range, as torch keeps per-parameter state.
    public struct Slot: Sendable, Equatable {
        /// The range's first element in the flat parameter buffer.
        public var offset: Int
        /// The range's length; every buffer has this many elements.
        public var count: Int
        /// Optimizer steps taken on this range (torch's `state["step"]`).
        public var step: Int
        /// Named buffers with torch's names: `exp_avg`, `exp_avg_sq` (AdamW), `momentum_buffer` (SGD),
        /// `square_avg`, `momentum_buffer`, `grad_avg` (RMSprop).
        public var buffers: [String: [Float]]

        /// A slot; see the properties.
        public init(offset: Int, count: Int, step: Int, buffers: [String: [Float]]) {
            self.offset = offset
            self.count = count
            self.step = step
            self.buffers = buffers
        }
    }

    /// The optimizer that wrote the state: `"SGD"`, `"AdamW"` or `"RMSprop"`.
    public var optimizer: String
    /// Slots ordered by offset; ranges that never took a step have none.
    public var slots: [Slot]

    /// A state; see the properties.
    public init(optimizer: String, slots: [Slot]) {
        self.optimizer = optimizer
        self.slots = slots
    }
}

/// Per-range state storage shared by the optimizers: allocated the first time a range is stepped,
/// so frozen parameters cost nothing.
final class StateStore {
    /// One range's step count and zero-initialised buffers (owned, freed in `deinit`).
    final class Slot {
        let range: Range<Int>
        var step = 0
        let buffers: [UnsafeMutableBufferPointer<Float>]

        init(range: Range<Int>, bufferCount: Int) {
            self.range = range
            buffers = (0..<bufferCount).map { _ in
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: range.count)
                buffer.initialize(repeating: 0)
                return buffer
            }
        }

        deinit {
            for buffer in buffers { buffer.deallocate() }
        }
    }

    let optimizerName: String
    let bufferNames: [String]
    private var slots: [Slot] = []
    private var indexByRange: [Range<Int>: Int] = [:]

    init(optimizerName: String, bufferNames: [String]) {
        self.optimizerName = optimizerName
        self.bufferNames = bufferNames
    }

    /// The slot for exactly `range`, created (zeroed, step 0) on first use.
    /// - Precondition: `range` does not partly overlap a range that already has state.
    func slot(for range: Range<Int>) -> Slot {
        if let index = indexByRange[range] { return slots[index] }
        for other in slots {
            precondition(!other.range.overlaps(range),
                         "parameter group \(range) overlaps \(other.range), which already has optimizer state")
        }
        let slot = Slot(range: range, bufferCount: bufferNames.count)
        indexByRange[range] = slots.count
        slots.append(slot)
        return slot
    }

    func export() -> OptimizerState {
        let ordered = slots.sorted { $0.range.lowerBound < $1.range.lowerBound }
        return OptimizerState(optimizer: optimizerName, slots: ordered.map { slot in
            var buffers: [String: [Float]] = [:]
            for (name, buffer) in zip(bufferNames, slot.buffers) { buffers[name] = Array(buffer) }
            return OptimizerState.Slot(offset: slot.range.lowerBound, count: slot.range.count,
                                       step: slot.step, buffers: buffers)
        })
    }

    /// Replaces all state with `state` after checking it fits.
    func restore(_ state: OptimizerState) throws(OptimizationError) {
        guard state.optimizer == optimizerName else {
            throw .stateMismatch(reason: "it was written by \(state.optimizer), this is \(optimizerName)")
        }
        var restored: [Slot] = []
        var index: [Range<Int>: Int] = [:]
        for saved in state.slots {
            guard saved.offset >= 0, saved.count >= 0, saved.step >= 0 else {
                throw .stateMismatch(reason: "slot at offset \(saved.offset) has a negative offset, count or step")
            }
            let range = saved.offset..<(saved.offset + saved.count)
            if let other = restored.first(where: { $0.range.overlaps(range) || $0.range == range }) {
                throw .stateMismatch(reason: "slots \(other.range) and \(range) overlap")
            }
            guard Set(saved.buffers.keys) == Set(bufferNames) else {
                throw .stateMismatch(reason: "slot \(range) has buffers \(saved.buffers.keys.sorted()), expected \(bufferNames)")
            }
            let slot = Slot(range: range, bufferCount: bufferNames.count)
            slot.step = saved.step
            for (name, buffer) in zip(bufferNames, slot.buffers) {
                let values = saved.buffers[name]!
                guard values.count == saved.count else {
                    throw .stateMismatch(reason: "slot \(range) buffer \(name) has \(values.count) values, expected \(saved.count)")
                }
                _ = buffer.update(from: values)
            }
            index[range] = restored.count
            restored.append(slot)
        }
        slots = restored
        indexByRange = index
    }
}
