import Foundation

/// The processor as `/proc/cpuinfo` describes its first core.
public struct CPUInfo: Sendable {
    /// e.g. `AMD EPYC 9R14`.
    public var modelName: String
    /// Vendor's family and model numbers (AMD Zen 4 is family 25, Zen 5 is family 26).
    public var family: Int?
    public var model: Int?
    /// Every feature flag, e.g. `avx2`, `avx512f`, `avx512_bf16`.
    public var flags: Set<String>
    /// Logical processors the OS lists.
    public var logicalProcessors: Int

    /// Parses the text of `/proc/cpuinfo`.
    public init(cpuinfo text: String) {
        var modelName = "unknown", family: Int?, model: Int?, flags = Set<String>(), count = 0
        var firstBlock = true
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { if count > 0 { firstBlock = false }; continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "processor" { count += 1 }
            guard firstBlock else { continue }
            switch key {
            case "model name": modelName = value
            case "cpu family": family = Int(value)
            case "model": model = Int(value)
            case "flags": flags = Set(value.split(separator: " ").map(String.init))
            default: break
            }
        }
        self.modelName = modelName
        self.family = family
        self.model = model
        self.flags = flags
        self.logicalProcessors = count
    }

    /// Reads `/proc/cpuinfo`; an empty description where it does not exist.
    public static func current() -> CPUInfo {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return CPUInfo(cpuinfo: text)
    }

    /// The flags that decide which kernels can run fast, in a fixed order.
    public var simdFlags: [String] {
        ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni", "amx_bf16"]
            .filter { flags.contains($0) }
    }
}
