import Foundation

/// Ranks that are threads of one process: each thread holds one of `communicators` and calls
/// the collectives as MPI ranks would, so multi-rank code (the trainer's data-parallel step, a
/// stop handshake, a broadcast of trial parameters) runs inside `swift test`.
///
/// Every collective is an exchange: each rank deposits its part, all wait, each reads every
/// part in rank order (sums run in rank order, so results are the same on every rank), all wait
/// again before the slots are reused.
public final class InProcessGroup: @unchecked Sendable {
    public let size: Int
    /// One communicator per rank, in rank order.
    public private(set) var communicators: [InProcessCommunicator] = []
    private let condition = NSCondition()
    private var slots: [[UInt8]]
    private var arrived = 0
    private var generation = 0

    public init(size: Int) {
        precondition(size >= 1, "a group needs at least one rank")
        self.size = size
        slots = [[UInt8]](repeating: [], count: size)
        communicators = (0..<size).map { InProcessCommunicator(rank: $0, group: self) }
    }

    /// Runs `body` on `size` threads, one per rank, and returns each rank's result in rank order.
    /// (Real threads: a thread pool may run fewer at once, and ranks waiting in a collective for a
    /// rank that never started would wait forever.)
    public func run<T: Sendable>(_ body: @escaping @Sendable (InProcessCommunicator) throws -> T) throws -> [T] {
        let results = RankResults<T>(count: size)
        let finished = DispatchGroup()
        for communicator in communicators {
            finished.enter()
            let thread = Thread { [condition] in
                let value = Result { try body(communicator) }
                condition.lock()
                results.values[communicator.rank] = value
                condition.unlock()
                finished.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        finished.wait()
        return try results.values.map { try $0!.get() }
    }

    /// Deposits `part` as rank `rank`'s, waits for every rank, and returns all parts in rank order.
    func exchange(rank: Int, _ part: [UInt8]) -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        slots[rank] = part
        waitForAll()
        let all = slots
        waitForAll()
        return all
    }

    /// A barrier; call with the lock held.
    private func waitForAll() {
        let mine = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
    }
}

/// Each rank's result of `InProcessGroup.run`, written under the group's lock.
private final class RankResults<T>: @unchecked Sendable {
    var values: [Result<T, Error>?]
    init(count: Int) { values = .init(repeating: nil, count: count) }
}

/// One rank of an `InProcessGroup`.
public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public var size: Int { group.size }
    private unowned let group: InProcessGroup

    init(rank: Int, group: InProcessGroup) {
        self.rank = rank
        self.group = group
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(MPIError) { sum(buffer) }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(MPIError) { sum(buffer) }

    public func allReduceMax(_ value: Double) throws(MPIError) -> Double {
        let parts = group.exchange(rank: rank, Self.bytes(of: [value]))
        return parts.map { Self.values(Double.self, from: $0)[0] }.max()!
    }

    public func broadcastBytes(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(MPIError) {
        let parts = group.exchange(rank: rank, rank == root ? Array(UnsafeRawBufferPointer(buffer)) : [])
        parts[root].withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    public func gatherBytes(_ bytes: UnsafeRawBufferPointer, root: Int) throws(MPIError) -> [[UInt8]]? {
        let parts = group.exchange(rank: rank, Array(bytes))
        return rank == root ? parts : nil
    }

    public func barrier() throws(MPIError) { _ = group.exchange(rank: rank, []) }

    /// Sums every rank's buffer element-wise, in rank order.
    private func sum<T: BinaryFloatingPoint & BitwiseCopyable>(_ buffer: UnsafeMutableBufferPointer<T>) {
        let parts = group.exchange(rank: rank, Array(UnsafeRawBufferPointer(buffer)))
        let all = parts.map { Self.values(T.self, from: $0) }
        for i in 0..<buffer.count {
            var total = all[0][i]
            for r in 1..<all.count { total += all[r][i] }
            buffer[i] = total
        }
    }

    private static func bytes<T: BitwiseCopyable>(of values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    private static func values<T: BitwiseCopyable>(_ type: T.Type, from bytes: [UInt8]) -> [T] {
        let n = bytes.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: n) { out, initialized in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(out).copyMemory(from: $0) }
            initialized = n
        }
    }
}
