import Foundation

/// The memory this process may use: the smaller of the machine's available memory and the
/// cgroup limit a batch system (Slurm's `--mem`) puts on the job.
enum MemoryLimit {
    /// Bytes, or nil where neither can be read.
    static func availableBytes() -> Double? {
        var limits: [Double] = []
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kib = Double(line.split(separator: " ").dropFirst().first ?? "") {
            limits.append(kib * 1024)
        }
        // cgroup v2, then v1; "max" or an absurd v1 number means no limit.
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let bytes = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes < 1e17 {
                limits.append(bytes)
            }
        }
        return limits.min()
    }

    /// `bytes` in GiB with two decimals.
    static func gib(_ bytes: Double) -> String { String(format: "%.2f GiB", bytes / 1_073_741_824) }
}
