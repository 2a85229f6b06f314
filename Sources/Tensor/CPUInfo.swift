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

    /// The CPUs this process may run on (its affinity, as `taskset`, Slurm's task binding or
    /// `mpirun --bind-to` set it), read from `/proc/self/status`; nil where that is not available.
    public static func usableProcessors() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return usableProcessors(status: text)
    }

    /// The number of CPUs in the `Cpus_allowed_list:` line (e.g. `0-3,8` is 5) of a
    /// `/proc/PID/status` text; nil without the line or when it does not parse.
    public static func usableProcessors(status text: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return nil }
        var count = 0
        for range in line.dropFirst("Cpus_allowed_list:".count).split(separator: ",") {
            let bounds = range.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let first = bounds.first ?? nil, let last = bounds.last ?? nil, bounds.count <= 2, last >= first else { return nil }
            count += last - first + 1
        }
        return count > 0 ? count : nil
    }

    /// The flags that decide which kernels can run fast, in a fixed order.
    public var simdFlags: [String] {
        ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni", "amx_bf16"]
            .filter { flags.contains($0) }
    }
}
