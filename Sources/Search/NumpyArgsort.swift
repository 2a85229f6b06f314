/// The order in which numpy's default `argsort` (numpy 2, x86 with AVX-512) leaves equal values, which
/// decides which of several equal observations gets the one wide Parzen kernel (every mask bit has many).
///
/// Why emulate it: Optuna sorts the kernel means with `np.argsort`, whose order of ties numpy leaves
/// unspecified. On AVX-512 hosts numpy hands arrays of up to 256 values to x86-simd-sort's bitonic
/// networks, and that order makes Optuna's TPE measurably better on the mask search than a stable or
/// random order (BENCHMARKS.md, sampler quality). Reproducing it gives Optuna's choices exactly.
///
/// The network: values in registers of 8 lanes (the last padded with +∞), each register sorted by a
/// 6-stage network, then registers merged pairwise, 2, 4, 8 … at a time. A compare-exchange never moves
/// equal values, so ties end wherever the network's fixed permutations leave them. Arrays already in
/// order and arrays of more than 256 values keep their given order among ties (numpy's early exit; its
/// quicksort partitions beyond 256 are not reproduced).
public enum NumpyArgsort {
    static let lanes = 8

    /// Indices that sort `values` ascending (no NaN), ties in numpy's order.
    public static func order(_ values: [Double]) -> [Int] {
        let n = values.count
        let isSorted = zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }
        if n <= 1 || isSorted || n > 32 * lanes {
            return values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
        }
        var registers = 32
        while registers > 1 && n * 2 <= registers * lanes { registers /= 2 }
        var keys = (0..<registers * lanes).map { $0 < n ? values[$0] : .infinity }
        var indices = Array(0..<registers * lanes)
        for r in 0..<registers { sortRegister(&keys, &indices, base: r * lanes) }
        var group = 2
        while group <= registers {
            for first in stride(from: 0, to: registers, by: group) { mergeRegisters(&keys, &indices, first: first, count: group) }
            group *= 2
        }
        return Array(indices.prefix(n))
    }

    /// One in-register stage: lane i compares with lane `partner(i)` and keeps the larger where `maxMask` has
    /// bit i, else the smaller; it takes the partner's index only when it takes a different value.
    static func stage(_ keys: inout [Double], _ indices: inout [Int], base: Int, maxMask: Int, partner: (Int) -> Int) {
        let oldKeys = Array(keys[base..<(base + lanes)]), oldIndices = Array(indices[base..<(base + lanes)])
        for lane in 0..<lanes {
            let own = oldKeys[lane], other = oldKeys[partner(lane)]
            let kept = (maxMask >> lane) & 1 == 1 ? max(own, other) : min(own, other)
            keys[base + lane] = kept
            if kept != own { indices[base + lane] = oldIndices[partner(lane)] }
        }
    }

    /// Lane i's partner when each block of `width` lanes is reversed, and when its halves are swapped.
    static func reversed(_ width: Int) -> (Int) -> Int { { lane in (lane / width) * width + width - 1 - lane % width } }
    static func swapped(_ width: Int) -> (Int) -> Int { { lane in lane ^ (width / 2) } }

    /// The 8-lane sorting network of one register.
    static func sortRegister(_ keys: inout [Double], _ indices: inout [Int], base: Int) {
        stage(&keys, &indices, base: base, maxMask: 0xAA, partner: reversed(2))
        stage(&keys, &indices, base: base, maxMask: 0xCC, partner: reversed(4))
        stage(&keys, &indices, base: base, maxMask: 0xAA, partner: swapped(2))
        stage(&keys, &indices, base: base, maxMask: 0xF0, partner: reversed(8))
        stage(&keys, &indices, base: base, maxMask: 0xCC, partner: swapped(4))
        stage(&keys, &indices, base: base, maxMask: 0xAA, partner: swapped(2))
    }

    /// The half cleaners that finish a bitonic register.
    static func mergeRegister(_ keys: inout [Double], _ indices: inout [Int], base: Int) {
        stage(&keys, &indices, base: base, maxMask: 0xF0, partner: swapped(8))
        stage(&keys, &indices, base: base, maxMask: 0xCC, partner: swapped(4))
        stage(&keys, &indices, base: base, maxMask: 0xAA, partner: swapped(2))
    }

    /// Lane-wise compare-exchange of registers a and b: a keeps the minima; lanes with equal values stay.
    static func exchange(_ keys: inout [Double], _ indices: inout [Int], _ a: Int, _ b: Int) {
        for lane in 0..<lanes {
            let i = a * lanes + lane, j = b * lanes + lane
            if keys[i] > keys[j] { keys.swapAt(i, j); indices.swapAt(i, j) }
        }
    }

    static func reverseRegister(_ keys: inout [Double], _ indices: inout [Int], _ r: Int) {
        keys[(r * lanes)..<((r + 1) * lanes)].reverse()
        indices[(r * lanes)..<((r + 1) * lanes)].reverse()
    }

    /// Merges `count` sorted registers from `first` into one sorted run: the upper half reversed and
    /// compared against the lower, then half cleaners across registers, then within each register.
    static func mergeRegisters(_ keys: inout [Double], _ indices: inout [Int], first: Int, count: Int) {
        for i in 0..<(count / 2) {
            let upper = first + count - 1 - i
            reverseRegister(&keys, &indices, upper)
            exchange(&keys, &indices, first + i, upper)
            reverseRegister(&keys, &indices, upper)
        }
        var span = count / 2
        while span >= 2 {
            for block in stride(from: first, to: first + count, by: span) {
                for i in 0..<(span / 2) { exchange(&keys, &indices, block + i, block + i + span / 2) }
            }
            span /= 2
        }
        for r in first..<(first + count) { mergeRegister(&keys, &indices, base: r * lanes) }
    }
}
