import COpenBLAS

/// What the loaded OpenBLAS is and how it runs: its build string, the kernel family it chose for
/// this CPU, and its thread count.
public enum BLASRuntime {
    /// OpenBLAS's build configuration, e.g. `OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... Haswell`.
    public static var config: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }

    /// The kernel family OpenBLAS chose at load time, e.g. `Haswell`, `SkylakeX`, `Cooperlake`.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The number of threads a BLAS call may use.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads later BLAS calls may use.
    /// - Precondition: `count >= 1`.
    public static func setThreads(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1, got \(count)")
        openblas_set_num_threads(Int32(count))
    }

    /// OpenBLAS core names whose kernels use AVX-512.
    public static let avx512CoreNames: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// Whether `coreName` runs AVX-512 kernels.
    public static func isAVX512Core(_ coreName: String) -> Bool {
        avx512CoreNames.contains(coreName.lowercased())
    }

    /// Decides whether the process must restart itself with `OPENBLAS_CORETYPE=SkylakeX`.
    ///
    /// OpenBLAS 0.3.21 picks AVX2 kernels on AVX-512 CPUs it does not know (AMD Zen 5), at half the
    /// speed. The variable is read only when the library loads, so the fix needs a fresh process.
    /// Nothing happens when the user set the variable (their choice wins), when the CPU lacks
    /// AVX-512, or when the chosen core already uses it.
    ///
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - cpuFlags: the `flags` of `/proc/cpuinfo`.
    ///   - coreName: what OpenBLAS chose.
    /// - Returns: the core type to set, or `nil` to carry on.
    public static func coreTypeOverride(environment: [String: String], cpuFlags: Set<String>,
                                        coreName: String) -> String? {
        if environment["OPENBLAS_CORETYPE"] != nil { return nil }
        guard cpuFlags.contains("avx512f") else { return nil }
        return isAVX512Core(coreName) ? nil : "SkylakeX"
    }
}
