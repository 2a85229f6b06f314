/// A small seeded generator (SplitMix64): fast, 64-bit state, the same stream on every machine.
/// Shared by the data augmentations, the shuffles and the model initialisation.
///
/// Each sample of each epoch gets its own generator from `(seed, epoch, sample)`, so augmentations
/// do not depend on threads, ranks or the order samples are processed in.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// A generator for one purpose, fixed by three numbers (e.g. run seed, epoch, sample index).
    public init(seed: UInt64, _ a: UInt64, _ b: UInt64) {
        var s = SeededRandom.mix(seed &+ 0x9E37_79B9_7F4A_7C15)
        s = SeededRandom.mix(s ^ a &+ 0xBF58_476D_1CE4_E5B9)
        s = SeededRandom.mix(s ^ b &+ 0x94D0_49BB_1331_11EB)
        state = s
    }

    /// SplitMix64's output function: a bijective 64-bit mix.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return SeededRandom.mix(state)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform double in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUnit()
    }

    /// A uniform integer in [0, bound), without modulo bias (Lemire's multiply-and-reject), written
    /// out so the stream never changes with the standard library's algorithm.
    /// - Precondition: `bound > 0`.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "bound \(bound) must be positive")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// A seeded permutation of 0..<count (Fisher-Yates).
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var generator = SeededRandom(seed: seed, UInt64(truncatingIfNeeded: epoch), 0x5348_5546_464C_4531)  // "SHUFFLE1"
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = generator.below(i + 1)
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}
