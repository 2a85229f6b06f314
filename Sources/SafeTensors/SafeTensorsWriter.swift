import FileOutput
import JSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Collects tensors and writes them as one safetensors file, byte for byte as the reference
/// Python library (`safetensors.numpy.save_file`) writes the same tensors and metadata.
///
/// Layout as the reference: compact JSON header with `__metadata__` first (when non-empty, keys
/// sorted; the reference orders several keys by hash, so only one key is reproducible there), then
/// the tensors ordered by dtype (I64 before F32, the reference's order) and by name (byte order),
/// with contiguous offsets; the header is padded with spaces to a multiple of 8 bytes.
public struct SafeTensorsWriter: Sendable {
    private struct Entry: Sendable {
        let name: String
        let dtype: DType
        let shape: [Int]
        let bytes: [UInt8]
    }

    /// The `__metadata__` object written to the header.
    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var names = Set<String>()

    /// An empty writer with the given header metadata.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds an F32 tensor.
    /// - Precondition: `floats.count` equals the product of `shape`; `name` is new and not `__metadata__`.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        floats.withUnsafeBufferPointer { add(name, shape: shape, floats: $0) }
    }

    /// Adds an F32 tensor copied from `floats` (e.g. a view of a parameter buffer).
    /// - Precondition: `floats.count` equals the product of `shape`; `name` is new and not `__metadata__`.
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        append(name, dtype: .f32, shape: shape, count: floats.count, bytes: UnsafeRawBufferPointer(floats))
    }

    /// Adds an I64 tensor.
    /// - Precondition: `int64s.count` equals the product of `shape`; `name` is new and not `__metadata__`.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) {
        int64s.withUnsafeBytes { append(name, dtype: .i64, shape: shape, count: int64s.count, bytes: $0) }
    }

    private mutating func append(_ name: String, dtype: DType, shape: [Int], count: Int, bytes: UnsafeRawBufferPointer) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == count,
                     "tensor '\(name)': shape \(shape) does not hold \(count) elements")
        precondition(name != "__metadata__", "'__metadata__' is reserved for the header metadata")
        precondition(names.insert(name).inserted, "tensor '\(name)' added twice")
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: Array(bytes)))
    }

    /// Entries in the reference writer's data order: dtype rank descending, then name bytes.
    private var orderedEntries: [Entry] {
        entries.sorted { a, b in
            if a.dtype.referenceRank != b.dtype.referenceRank { return a.dtype.referenceRank > b.dtype.referenceRank }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// The 8-byte length prefix followed by the padded JSON header, for `entries` in that order.
    private func headerBytes(for entries: [Entry]) -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            members.append(("__metadata__", .object(keys.map { ($0, .string(metadata[$0]!)) })))
        }
        func integers(_ values: [Int]) -> JSONValue { .array(values.map { .number(Double($0)) }) }
        var offset = 0
        for entry in entries {
            members.append((entry.name, .object([
                ("dtype", .string(entry.dtype.rawValue)),
                ("shape", integers(entry.shape)),
                ("data_offsets", integers([offset, offset + entry.bytes.count])),
            ])))
            offset += entry.bytes.count
        }
        // serde_json's compact form, which the reference writes.
        var json = Array(JSONValue.object(members).compactRendered(withSpaces: false).utf8)
        // Pad so the data buffer starts 8-byte aligned, as the reference does.
        json.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        return withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json
    }

    /// The complete file contents (header and data), e.g. to compare with a reference file.
    public func serialized() -> [UInt8] {
        let ordered = orderedEntries
        var bytes = headerBytes(for: ordered)
        for entry in ordered { bytes.append(contentsOf: entry.bytes) }
        return bytes
    }

    /// Writes the file atomically: a temporary file in the destination's folder is written,
    /// fsynced and renamed over `path`, so readers see the old file or the complete new one.
    ///
    /// - Throws: `cannotWrite` naming `path` and the failing step; the temporary file is removed.
    public func write(to path: String) throws(SafeTensorsError) {
        let ordered = orderedEntries
        let header = headerBytes(for: ordered)
        do throws(AtomicFile.WriteError) {
            try AtomicFile.write(to: path) { (descriptor: Int32) throws(AtomicFile.WriteError) in
                try AtomicFile.writeAll(descriptor, header)
                for entry in ordered { try AtomicFile.writeAll(descriptor, entry.bytes) }
            }
        } catch {
            throw .cannotWrite(file: path, reason: error.reason)
        }
    }
}
