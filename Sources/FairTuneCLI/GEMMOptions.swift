import Arguments
import Training

/// `--gemm` and `--precision`, shared by `train` (and the study), `bench train` and `bench gemm`.
enum GEMMOptions {
    static func specs(defaultPrecision: GEMMRequest.Precision) -> [OptionSpec] {
        [
            .value("gemm", "LIB", "matrix-product library: openblas, onednn or auto (the faster, measured at start-up; "
                + "default: openblas for fp32, onednn for bf16, auto for auto)"),
            .value("precision", "P", "matrix-product operands: fp32, bf16 (oneDNN; f32 accumulation, everything else f32) "
                + "or auto (bf16 only where measured faster at start-up)", default: defaultPrecision.rawValue),
        ]
    }

    /// The request as given (checked against the CPU when resolved).
    static func request(_ args: ParsedArguments) throws -> GEMMRequest {
        let library = try args.choice("gemm", GEMMRequest.Library.allCases.map(\.rawValue)).flatMap(GEMMRequest.Library.init)
        let precision = GEMMRequest.Precision(rawValue: try args.choice("precision", GEMMRequest.Precision.allCases.map(\.rawValue))!)!
        if library == .openblas && precision == .bf16 {
            throw ArgumentError.invalidValue(command: args.spec.name, option: "--precision", value: "bf16",
                                             expected: "fp32 or auto with --gemm openblas (bf16 runs on oneDNN only)")
        }
        return GEMMRequest(library: library, precision: precision)
    }
}
