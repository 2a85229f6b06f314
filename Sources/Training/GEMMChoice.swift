import FileOutput
import Foundation
import JSON
import Tensor

/// What the user asked of the matrix products (`--gemm`, `--precision`).
public struct GEMMRequest: Sendable, Equatable {
    /// `--precision`: auto chooses bf16 operands only where they measure faster.
    public enum Precision: String, Sendable, CaseIterable { case auto, fp32, bf16 }
    /// `--gemm`: a library, or auto (the faster, measured).
    public enum Library: String, Sendable, CaseIterable { case openblas, onednn, auto }

    /// nil: not given (OpenBLAS for fp32, oneDNN for bf16, measured for auto precision), so that
    /// by default a run's products, and so its bits, do not depend on a timing.
    public var library: Library?
    public var precision: Precision

    public init(library: Library? = nil, precision: Precision = .fp32) {
        self.library = library
        self.precision = precision
    }

    /// The modes worth measuring; bf16 only where oneDNN has a bf16 kernel for this CPU.
    /// - Throws: `TrainingError.invalidSetting` for bf16 on OpenBLAS or on a CPU without a bf16 kernel.
    public func candidates(bf16Available: Bool) throws(TrainingError) -> [GEMMMode] {
        if precision == .bf16 && library == .openblas {
            throw .invalidSetting(setting: "precision", message: "bf16 runs on oneDNN only; use --gemm onednn or leave --gemm out")
        }
        if precision == .bf16 && !bf16Available {
            throw .invalidSetting(setting: "precision", message: "oneDNN has no bf16 matrix product on this CPU; use fp32 or auto")
        }
        let backends: [GEMMBackend] = switch library {
        case .openblas?: [.openblas]
        case .onednn?: [.onednn]
        case .auto?: GEMMBackend.allCases
        case nil: precision == .fp32 ? [.openblas] : precision == .bf16 ? [.onednn] : GEMMBackend.allCases
        }
        let precisions: [GEMMPrecision] = switch precision {
        case .fp32: [.fp32]
        case .bf16: [.bf16]
        case .auto: bf16Available ? [.fp32, .bf16] : [.fp32]
        }
        return backends.flatMap { b in precisions.map { GEMMMode(backend: b, precision: $0) } }.filter(\.isValid)
    }

    /// `--gemm` and `--precision` as given, e.g. `auto auto` (`default` for an absent --gemm).
    public var description: String { "\(library?.rawValue ?? "default") \(precision.rawValue)" }
}

/// The modes a run uses and why: forced (one candidate), measured now, or measured earlier on this
/// CPU model (the cache file in the run folder, so a resumed run chooses as its first session).
public struct GEMMChoice: Sendable {
    public var modes: GEMMModes
    /// e.g. `measured at start-up (GFLOP/s: ...)`.
    public var reason: String
    public var measurements: [GEMMSelection.Measurement]

    /// Chooses among `candidates`: the only one, the cached choice for this CPU, threads and
    /// workload, or a fresh measurement (then cached in `cacheFile` when given).
    public static func resolve(candidates: [GEMMMode], workload: GEMMSelection.Workload, threads: Int,
                               cacheFile: String?) throws -> GEMMChoice {
        if candidates.count == 1 {
            return GEMMChoice(modes: GEMMModes(candidates[0]), reason: "forced by --gemm/--precision", measurements: [])
        }
        let key = cacheKey(candidates: candidates, workload: workload, threads: threads)
        var entries = cacheFile.flatMap(readCache) ?? []
        if let cached = entries.first(where: { $0["key"] == key }), let choice = parse(cached) {
            return GEMMChoice(modes: choice.modes, reason: "measured earlier on this CPU (\(cacheFile ?? ""))",
                              measurements: choice.measurements)
        }
        let measurements = GEMMSelection.measure(workload, candidates: candidates)
        let choice = GEMMChoice(modes: GEMMSelection.fastest(measurements), reason: "measured at start-up", measurements: measurements)
        if let cacheFile {
            entries.append(.object([("key", key)] + (choice.json.objectValue ?? [])))
            let file = JSONValue.object([("format", .string("fairtune-gemm-selection")), ("version", .number(1)),
                                         ("choices", .array(entries))])
            try AtomicFile.write(file.rendered() + "\n", to: cacheFile)
        }
        return choice
    }

    /// The modes, the reason and the measurements (config.json, the cache file).
    public var json: JSONValue {
        .object([
            ("linear", .string(modes.linear.description)),
            ("attention", .string(modes.attention.description)),
            ("reason", .string(reason)),
            ("measurements", .array(measurements.map {
                .object([("class", .string($0.shapeClass.rawValue)), ("mode", .string($0.mode.description)),
                         ("gflops", .number(($0.gflops * 10).rounded() / 10))])
            })),
        ])
    }

    /// One line for the log: `linear onednn bf16, attention openblas fp32 (measured at start-up: ...)`.
    public var summary: String {
        let numbers = measurements.map { "\($0.shapeClass.rawValue) \($0.mode) \(String(format: "%.0f", $0.gflops))" }
        return "linear \(modes.linear), attention \(modes.attention) (\(reason)"
            + (numbers.isEmpty ? ")" : "; GFLOP/s: " + numbers.joined(separator: ", ") + ")")
    }

    /// The CPU model, threads, workload and candidates: a cached choice holds only for the same.
    static func cacheKey(candidates: [GEMMMode], workload w: GEMMSelection.Workload, threads: Int) -> JSONValue {
        let cpu = CPUInfo.current()
        return .object([
            ("cpu", .string(cpu.modelName + " family \(cpu.family ?? -1) model \(cpu.model ?? -1)")),
            ("threads", .number(Double(threads))),
            ("workload", .string("batch \(w.batch) tokens \(w.tokens) width \(w.width) mlp \(w.mlpWidth) heads \(w.heads)")),
            ("candidates", .array(candidates.map { .string($0.description) })),
        ])
    }

    private static func readCache(_ path: String) -> [JSONValue]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let file = try? JSONValue.parse(text) else { return nil }
        return file["choices"]?.arrayValue
    }

    private static func parse(_ entry: JSONValue) -> (modes: GEMMModes, measurements: [GEMMSelection.Measurement])? {
        guard let linear = entry["linear"]?.stringValue.flatMap(mode), let attention = entry["attention"]?.stringValue.flatMap(mode)
        else { return nil }
        let measurements = (entry["measurements"]?.arrayValue ?? []).compactMap { m -> GEMMSelection.Measurement? in
            guard let c = m["class"]?.stringValue.flatMap(GEMMShapeClass.init), let mode = m["mode"]?.stringValue.flatMap(mode),
                  let gflops = m["gflops"]?.doubleValue else { return nil }
            return GEMMSelection.Measurement(shapeClass: c, mode: mode, gflops: gflops)
        }
        return (GEMMModes(linear: linear, attention: attention), measurements)
    }

    /// A mode as a small number (to broadcast between ranks), and back.
    public static func code(_ mode: GEMMMode) -> Int { codes.firstIndex(of: mode) ?? 0 }
    public static func mode(code: Int) -> GEMMMode? { codes.indices.contains(code) ? codes[code] : nil }
    private static let codes: [GEMMMode] = [.openblasFP32, .onednnFP32, .onednnBF16]

    /// `onednn bf16` → the mode.
    static func mode(_ text: String) -> GEMMMode? {
        let parts = text.split(separator: " ").map(String.init)
        guard parts.count == 2, let b = GEMMBackend(rawValue: parts[0]), let p = GEMMPrecision(rawValue: parts[1]) else { return nil }
        return GEMMMode(backend: b, precision: p)
    }
}
