import Dispatch
import Foundation

/// Wall time of every kernel call, by kernel and shape, for `fairtune bench train --profile`: where
/// a step's time goes, and how close each product comes to the GEMM ceiling. Off unless `start()`
/// was called; a kernel then pays one branch per call.
///
/// Kernels record from their public entry points, which the model calls from one thread (the
/// work inside may run on the workers), so the times are wall times and add up within the step's.
public enum KernelProfile {
    /// A kernel and its shape, e.g. "linear forward, bf16 in" and "6304×1536→384".
    public struct Site: Hashable, Sendable {
        public let kernel: String
        public let shape: String
    }

    /// What one site took over the recording.
    public struct Totals: Sendable {
        public var calls = 0
        public var seconds = 0.0
        /// FLOPs of the site's matrix products (2 per multiply-add; 0 for element-wise kernels).
        public var flops = 0.0
    }

    nonisolated(unsafe) private static var recording = false
    nonisolated(unsafe) private static var totals: [Site: Totals] = [:]
    private static let lock = NSLock()

    /// Clears the totals and starts recording.
    public static func start() {
        lock.withLock {
            totals = [:]
            recording = true
        }
    }

    /// Stops recording and hands over what was recorded since `start()` (the totals start empty again).
    public static func stop() -> [Site: Totals] {
        lock.withLock {
            recording = false
            defer { totals = [:] }
            return totals
        }
    }

    /// A kernel call's start time, or 0 when not recording; pass it to `end`.
    @inline(__always)
    static func begin() -> UInt64 { recording ? DispatchTime.now().uptimeNanoseconds : 0 }

    /// Adds the call begun at `start` (nothing when it is 0) to its site.
    @inline(__always)
    static func end(_ start: UInt64, _ kernel: @autoclosure () -> String, _ shape: @autoclosure () -> String,
                    flops: @autoclosure () -> Double = 0) {
        guard start != 0 else { return }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let site = Site(kernel: kernel(), shape: shape()), callFLOPs = flops()
        lock.withLock {
            totals[site, default: Totals()].calls += 1
            totals[site]!.seconds += seconds
            totals[site]!.flops += callFLOPs
        }
    }

    /// `end` for a layer's call: shape "rows×in→out", `products` (rows, in, out) products.
    @inline(__always)
    static func endLayer(_ start: UInt64, _ kernel: @autoclosure () -> String, rows n: Int, inFeatures c: Int,
                         outFeatures oc: Int, products: @autoclosure () -> Int = 1) {
        end(start, kernel(), "\(n)×\(c)→\(oc)", flops: 2 * Double(n * c * oc * products()))
    }

    /// `end` for attention's call over `batch`×`heads` heads of `tokens` keys of width `headDim`,
    /// `queries` query rows each: shape "B×H heads×T×D", `products` (queries, tokens, headDim)
    /// products per head.
    @inline(__always)
    static func endAttention(_ start: UInt64, _ kernel: @autoclosure () -> String, batch b: Int, heads h: Int,
                             queries q: Int, tokens t: Int, headDim d: Int, products: Int) {
        end(start, kernel(), "\(b)×\(h) heads×\(t)×\(d)", flops: 2 * Double(b * h * q * t * d * products))
    }
}
