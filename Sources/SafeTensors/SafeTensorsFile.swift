import FileOutput
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if _endian(big)
#error("SafeTensors reads and writes little-endian data by copying bytes; big-endian hosts are not supported")
#endif

/// A safetensors file opened for reading: the header is parsed and validated once, the data stay
/// memory-mapped, and each tensor is converted only when asked for.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON
/// (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {key: value}}`), then the
/// data buffer; offsets are relative to the buffer's start. Opening checks every entry (dtype known,
/// shape and offsets non-negative integers, bytes = dtype size × element count, inside the buffer,
/// no overlap, no duplicate name), so later reads cannot go out of bounds.
///
/// The mapping is read-only and private; if another process truncates the file while it is open,
/// reading the lost pages raises SIGBUS (as for any mapped file).
public final class SafeTensorsFile: @unchecked Sendable {
    /// Headers longer than this are refused before anything is allocated (the reference
    /// implementation uses the same limit).
    public static let maximumHeaderLength = 100_000_000

    /// The path the file was opened from (used in every error).
    public let path: String
    /// The `__metadata__` object; empty when the file has none.
    public let metadata: [String: String]
    /// Every tensor, in the order of their data offsets.
    public let tensors: [TensorInfo]

    private let indexByName: [String: Int]
    private let mapping: UnsafeMutableRawPointer?
    private let mappingLength: Int
    /// Start of the data buffer inside the mapping.
    private let buffer: UnsafeRawPointer?

    /// Opens, maps and validates the file at `path`.
    ///
    /// - Throws: `SafeTensorsError` naming the file (and the tensor) for a missing or unreadable
    ///   file, a truncated file, an oversized or malformed header, or an invalid tensor entry.
    public init(path: String) throws(SafeTensorsError) {
        self.path = path
        let (mapping, length) = try Self.map(path)
        var validated = false
        defer { if !validated, let mapping { munmap(mapping, length) } }

        guard length >= 8 else {
            throw .truncated(file: path, part: "8-byte header length", expectedBytes: 8, availableBytes: length)
        }
        let file = UnsafeRawBufferPointer(start: mapping, count: length)
        let headerLength = file.loadUnaligned(as: UInt64.self)
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw .headerTooLarge(file: path, length: headerLength, limit: Self.maximumHeaderLength)
        }
        let n = Int(headerLength)
        guard n <= length - 8 else {
            throw .truncated(file: path, part: "header", expectedBytes: n, availableBytes: length - 8)
        }
        let header = UnsafeRawBufferPointer(rebasing: file[8..<(8 + n)])
        let contents = try Self.readHeader(header, bufferSize: length - 8 - n, file: path)
        validated = true
        self.mapping = mapping
        self.mappingLength = length
        self.buffer = UnsafeRawPointer(mapping).map { $0 + 8 + n }
        self.metadata = contents.metadata
        self.tensors = contents.tensors
        var index: [String: Int] = [:]
        for (position, tensor) in tensors.enumerated() { index[tensor.name] = position }
        self.indexByName = index
    }

    deinit {
        if let mapping { munmap(mapping, mappingLength) }
    }

    /// The entry named `name`, or nil.
    public func info(_ name: String) -> TensorInfo? {
        indexByName[name].map { tensors[$0] }
    }

    /// The entry named `name`, or `missingTensor`.
    func requireInfo(_ name: String) throws(SafeTensorsError) -> TensorInfo {
        guard let info = info(name) else { throw .missingTensor(file: path, tensor: name) }
        return info
    }

    /// The raw bytes of a validated tensor (valid while `self` is alive).
    func bytes(of info: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer.map { $0 + info.dataOffsets.lowerBound }, count: info.byteCount)
    }

    // MARK: - Opening

    /// Maps the whole file read-only; an empty file gives a nil mapping of length 0.
    private static func map(_ path: String) throws(SafeTensorsError) -> (UnsafeMutableRawPointer?, Int) {
        let descriptor: Int32
        do { descriptor = try InputFile.open(path) } catch { throw .cannotOpen(file: path, reason: error.reason) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .cannotOpen(file: path, reason: String(cString: strerror(errno)))
        }
        let length = Int(status.st_size)
        if length == 0 { return (nil, 0) }
        guard let mapping = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw .cannotOpen(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        return (mapping, length)
    }

    /// Parses and validates the header; returns the metadata and the tensors in offset order.
    private static func readHeader(
        _ header: UnsafeRawBufferPointer, bufferSize: Int, file: String
    ) throws(SafeTensorsError) -> (metadata: [String: String], tensors: [TensorInfo]) {
        let json: HeaderJSON
        do {
            json = try HeaderJSONParser.parse(header)
        } catch {
            throw .malformedHeader(file: file, reason: "\(error.message) at header byte \(error.offset)")
        }
        guard case let .object(members) = json else { throw .headerNotObject(file: file) }

        var metadata: [String: String]?
        var tensors: [TensorInfo] = []
        var seen = Set<String>()
        for (name, value) in members {
            if name == "__metadata__" {
                guard metadata == nil else { throw .invalidMetadata(file: file, reason: "it appears twice") }
                metadata = try readMetadata(value, file: file)
                continue
            }
            guard seen.insert(name).inserted else { throw .duplicateTensor(file: file, tensor: name) }
            tensors.append(try readEntry(name: name, value, bufferSize: bufferSize, file: file))
        }

        tensors.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var furthest: TensorInfo?  // the non-empty tensor reaching furthest so far
        for tensor in tensors where !tensor.dataOffsets.isEmpty {
            if let previous = furthest, tensor.dataOffsets.lowerBound < previous.dataOffsets.upperBound {
                throw .overlappingTensors(file: file, tensor: tensor.name, other: previous.name)
            }
            if furthest.map({ tensor.dataOffsets.upperBound > $0.dataOffsets.upperBound }) ?? true {
                furthest = tensor
            }
        }
        return (metadata ?? [:], tensors)
    }

    private static func readMetadata(_ value: HeaderJSON, file: String) throws(SafeTensorsError) -> [String: String] {
        guard case let .object(pairs) = value else {
            throw .invalidMetadata(file: file, reason: "found \(value.kindName)")
        }
        var metadata: [String: String] = [:]
        for (key, entry) in pairs {
            guard case let .string(text) = entry else {
                throw .invalidMetadata(file: file, reason: "key '\(key)' has \(entry.kindName)")
            }
            guard metadata.updateValue(text, forKey: key) == nil else {
                throw .invalidMetadata(file: file, reason: "key '\(key)' appears twice")
            }
        }
        return metadata
    }

    private static func readEntry(
        name: String, _ value: HeaderJSON, bufferSize: Int, file: String
    ) throws(SafeTensorsError) -> TensorInfo {
        guard case let .object(fields) = value else {
            throw .invalidField(file: file, tensor: name, field: "entry",
                                expected: "an object with dtype, shape and data_offsets (found \(value.kindName))")
        }
        func field(_ key: String) -> HeaderJSON? { fields.first { $0.key == key }?.value }

        guard let dtypeValue = field("dtype") else {
            throw .invalidField(file: file, tensor: name, field: "dtype", expected: "present (a string such as \"F32\")")
        }
        guard case let .string(dtypeName) = dtypeValue else {
            throw .invalidField(file: file, tensor: name, field: "dtype",
                                expected: "a string such as \"F32\" (found \(dtypeValue.kindName))")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw .unknownDType(file: file, tensor: name, dtype: dtypeName)
        }

        let shapeExpectation = "an array of non-negative integers"
        guard let shape = nonNegativeIntegers(field("shape")) else {
            throw .invalidField(file: file, tensor: name, field: "shape", expected: shapeExpectation)
        }
        let offsetsExpectation = "two non-negative integers [begin, end] with begin <= end"
        guard let offsets = nonNegativeIntegers(field("data_offsets")), offsets.count == 2, offsets[0] <= offsets[1] else {
            throw .invalidField(file: file, tensor: name, field: "data_offsets", expected: offsetsExpectation)
        }

        var expectedBytes = dtype.byteSize
        for dimension in shape {
            let (product, overflow) = expectedBytes.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw .invalidField(file: file, tensor: name, field: "shape",
                                    expected: "dimensions whose byte size fits in 64 bits (found \(shape))")
            }
            expectedBytes = product
        }
        guard offsets[1] <= bufferSize else {
            throw .offsetsOutOfBounds(file: file, tensor: name, begin: offsets[0], end: offsets[1], bufferSize: bufferSize)
        }
        guard offsets[1] - offsets[0] == expectedBytes else {
            throw .byteCountMismatch(file: file, tensor: name, dtype: dtype.rawValue, shape: shape,
                                     expectedBytes: expectedBytes, actualBytes: offsets[1] - offsets[0])
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1])
    }

    private static func nonNegativeIntegers(_ value: HeaderJSON?) -> [Int]? {
        guard case let .array(elements)? = value else { return nil }
        var integers: [Int] = []
        integers.reserveCapacity(elements.count)
        for element in elements {
            guard let integer = element.integerValue, integer >= 0 else { return nil }
            integers.append(integer)
        }
        return integers
    }
}
