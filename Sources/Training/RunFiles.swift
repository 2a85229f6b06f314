import Dataset
import FileOutput
import Foundation
import JSON
import RunLock
import Metrics

/// The files of a run directory, all written atomically by rank 0:
/// `config.json`, `metrics.jsonl`, `result.json`, `predictions-{val,test}.csv`,
/// `checkpoint.safetensors` and `checkpoint-best.safetensors`.
public struct RunFiles: Sendable {
    /// The run directory.
    public let directory: String

    /// The files of `directory`.
    public init(directory: String) { self.directory = directory }

    /// `config.json`, `metrics.jsonl`, `result.json`, the checkpoint and the best epoch's checkpoint.
    public var config: String { path("config.json") }
    /// The matrix-product modes measured for each CPU model this run has run on (`GEMMChoice`).
    public var gemmSelection: String { path("gemm-selection.json") }
    public var metrics: String { path("metrics.jsonl") }
    public var result: String { path("result.json") }
    public var checkpoint: String { path("checkpoint.safetensors") }
    public var bestCheckpoint: String { path("checkpoint-best.safetensors") }
    /// `predictions-<split>.csv`.
    public func predictions(_ split: String) -> String { path("predictions-\(split).csv") }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Creates the directory (and parents) if needed.
    public func create() throws(TrainingError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .runFile(path: directory, message: "cannot create the run directory: \(error.localizedDescription)")
        }
    }

    /// Refuses a directory that holds files but is not a fairtune run: a run is trained only into a
    /// new or empty folder, or one that holds a run (its config.json, result.json or checkpoint).
    public func checkIsRunDirectory() throws(TrainingError) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let own: Set<String> = ["config.json", "result.json", "checkpoint.safetensors", "gemm-selection.json"]
        // Hidden files (temporary siblings) and the run's own lock do not make a folder someone else's.
        let visible = entries.filter { !$0.hasPrefix(".") && !$0.hasPrefix(RunDirectoryLock.fileName) }
        guard !visible.isEmpty, own.isDisjoint(with: visible) else { return }
        throw .notARunDirectory(directory: directory, example: visible.sorted()[0])
    }

    /// Writes `text` to `path` atomically.
    public static func write(_ text: String, to path: String) throws(TrainingError) {
        do { try AtomicFile.write(text, to: path) } catch { throw .runFile(path: path, message: "cannot write: \(error.reason)") }
    }

    /// The top-level JSON object of `path`, or nil when the file does not exist.
    public static func readObject(_ path: String) throws(TrainingError) -> JSONValue? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .runFile(path: path, message: "cannot be read; remove it or choose another --out")
        }
        let object: JSONValue
        do { object = try JSONValue.parse(bytes: [UInt8](data)) } catch {
            throw .runFile(path: path, message: "not valid JSON (\(error)); remove it or choose another --out")
        }
        guard object.objectValue != nil else {
            throw .runFile(path: path, message: "not a JSON object; remove it or choose another --out")
        }
        return object
    }

    /// The lines of metrics.jsonl for epochs 1...`epochs` (a line for a later epoch was written
    /// after the checkpoint a resumed run starts from, and is dropped).
    public func metricsLines(upToEpoch epochs: Int) -> [String] {
        guard let text = try? String(contentsOfFile: metrics, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init).filter { line in
            guard let epoch = (try? JSONValue.parse(line))?["epoch"]?.intValue else { return false }
            return epoch <= epochs
        }
    }

    /// A predictions CSV that `fairtune metrics` reads directly: `sample_id, patient_id, label`,
    /// the scores (`score` = P(class 1) for two classes, else `p0 ... pK-1`) and one column per
    /// attribute holding the group name (`-1` for an unknown group). Rows in split order.
    public static func predictionsCSV(split: DatasetSplit, sampleIndices: [Int], scores: [Double], classCount: Int,
                                      attributes: [(name: String, index: Int, groups: [String])]) -> String {
        let columns = classCount == 2 ? 1 : classCount
        var header = ["sample_id", "patient_id", "label"]
        header += columns == 1 ? ["score"] : (0..<classCount).map { "p\($0)" }
        header += attributes.map(\.name)
        var lines = [header.map(quote).joined(separator: ",")]
        lines.reserveCapacity(sampleIndices.count + 1)
        for (row, sample) in sampleIndices.enumerated() {
            var fields = [quote(split.sampleIDs[sample]), quote(split.patientIDs[sample]), String(split.labels[sample])]
            for c in 0..<columns { fields.append("\(scores[row * columns + c])") }
            for a in attributes {
                let g = split.groups[a.index][sample]
                fields.append(g < 0 ? "-1" : quote(a.groups[g]))
            }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 quoting where needed.
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
