/// Which library runs the matrix products.
public enum GEMMBackend: String, Sendable, CaseIterable {
    case openblas
    case onednn
}

/// The precision of the matrix products' operands; accumulation and results are always f32.
///
/// `bf16` is mixed precision as PyTorch's CPU autocast: each operand is rounded to bfloat16 as it
/// enters the product; everything outside the products (weights, norms, softmax, loss, optimizer)
/// stays f32.
public enum GEMMPrecision: String, Sendable, CaseIterable {
    case fp32
    case bf16
}

/// A backend and an operand precision. bf16 runs on oneDNN only (OpenBLAS 0.3.21 has no bf16 GEMM).
public struct GEMMMode: Sendable, Hashable, CustomStringConvertible {
    public var backend: GEMMBackend
    public var precision: GEMMPrecision

    public init(backend: GEMMBackend, precision: GEMMPrecision) {
        self.backend = backend
        self.precision = precision
    }

    public static let openblasFP32 = GEMMMode(backend: .openblas, precision: .fp32)
    public static let onednnFP32 = GEMMMode(backend: .onednn, precision: .fp32)
    public static let onednnBF16 = GEMMMode(backend: .onednn, precision: .bf16)

    /// Whether this pair exists (bf16 needs oneDNN).
    public var isValid: Bool { precision == .fp32 || backend == .onednn }

    /// e.g. `onednn bf16`.
    public var description: String { "\(backend.rawValue) \(precision.rawValue)" }
}

/// The two kinds of product in a ViT, which may run best in different modes: the layers' large
/// products (all tokens × features) and attention's small per-head products (tokens × tokens).
public enum GEMMShapeClass: String, Sendable, CaseIterable {
    case linear
    case attention
}

/// The mode of each shape class.
public struct GEMMModes: Sendable, Hashable {
    public var linear: GEMMMode
    public var attention: GEMMMode

    public init(linear: GEMMMode, attention: GEMMMode) {
        self.linear = linear
        self.attention = attention
    }

    /// One mode for every class.
    public init(_ mode: GEMMMode) { self.init(linear: mode, attention: mode) }
}
