/// A failure reading or writing a safetensors file; every case names the file, and the tensor
/// where one is concerned, and says what was expected.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    /// The file is missing or unreadable.
    case cannotOpen(file: String, reason: String)
    /// The file ends before the part named in `part` is complete.
    case truncated(file: String, part: String, expectedBytes: Int, availableBytes: Int)
    /// The 8-byte header length is above the cap; the file is damaged or not safetensors.
    case headerTooLarge(file: String, length: UInt64, limit: Int)
    /// The header is not valid UTF-8 JSON; `reason` says what was found where.
    case malformedHeader(file: String, reason: String)
    /// The header is valid JSON but not an object of tensor entries.
    case headerNotObject(file: String)
    /// A tensor entry lacks a field or has it with the wrong type or value.
    case invalidField(file: String, tensor: String, field: String, expected: String)
    /// A dtype the format does not define (or that fairtune cannot size, e.g. packed 4-bit types).
    case unknownDType(file: String, tensor: String, dtype: String)
    /// Two entries with the same name.
    case duplicateTensor(file: String, tensor: String)
    /// The tensor's byte range lies (partly) outside the data buffer.
    case offsetsOutOfBounds(file: String, tensor: String, begin: Int, end: Int, bufferSize: Int)
    /// The tensor's byte range overlaps another tensor's.
    case overlappingTensors(file: String, tensor: String, other: String)
    /// The byte range length differs from dtype size × number of elements.
    case byteCountMismatch(file: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// `__metadata__` is not an object of string values.
    case invalidMetadata(file: String, reason: String)
    /// A requested tensor that the file does not list.
    case missingTensor(file: String, tensor: String)
    /// The tensor's dtype cannot be read as the requested kind of number.
    case unsupportedConversion(file: String, tensor: String, dtype: String, requested: String)
    /// A destination buffer whose size differs from the tensor's element count.
    case countMismatch(file: String, tensor: String, expected: Int, given: Int)
    /// Writing, syncing or renaming the output failed; nothing was left at the destination.
    case cannotWrite(file: String, reason: String)
    /// A float tensor holds a NaN or an infinity (`element` is its first such element, row-major).
    case nonFinite(file: String, tensor: String, element: Int, value: String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason):
            return "\(file): cannot open (\(reason))"
        case let .truncated(file, part, expected, available):
            return "\(file): truncated: the \(part) needs \(expected) bytes but only \(available) are there; re-copy or re-export the file"
        case let .headerTooLarge(file, length, limit):
            return "\(file): header length \(length) bytes exceeds the limit of \(limit); the file is damaged or not safetensors"
        case let .malformedHeader(file, reason):
            return "\(file): header is not valid JSON (\(reason))"
        case let .headerNotObject(file):
            return "\(file): header must be a JSON object of tensor entries"
        case let .invalidField(file, tensor, field, expected):
            return "\(file): tensor '\(tensor)': field '\(field)' must be \(expected)"
        case let .unknownDType(file, tensor, dtype):
            return "\(file): tensor '\(tensor)': unknown dtype '\(dtype)' (known: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .duplicateTensor(file, tensor):
            return "\(file): tensor '\(tensor)' is listed twice in the header"
        case let .offsetsOutOfBounds(file, tensor, begin, end, bufferSize):
            return "\(file): tensor '\(tensor)': data_offsets [\(begin), \(end)] lie outside the \(bufferSize)-byte data buffer (is the file truncated?)"
        case let .overlappingTensors(file, tensor, other):
            return "\(file): tensor '\(tensor)' overlaps tensor '\(other)' in the data buffer"
        case let .byteCountMismatch(file, tensor, dtype, shape, expected, actual):
            return "\(file): tensor '\(tensor)': \(dtype) with shape \(shape) needs \(expected) bytes but data_offsets span \(actual)"
        case let .invalidMetadata(file, reason):
            return "\(file): __metadata__ must map strings to strings (\(reason))"
        case let .missingTensor(file, tensor):
            return "\(file): no tensor named '\(tensor)'"
        case let .unsupportedConversion(file, tensor, dtype, requested):
            return "\(file): tensor '\(tensor)' has dtype \(dtype), which cannot be read as \(requested)"
        case let .countMismatch(file, tensor, expected, given):
            return "\(file): tensor '\(tensor)' has \(expected) elements but the destination holds \(given)"
        case let .cannotWrite(file, reason):
            return "\(file): cannot write (\(reason))"
        case let .nonFinite(file, tensor, element, value):
            return "\(file): tensor '\(tensor)' holds \(value) at element \(element); weights must be finite. "
                + "The file is damaged or was saved from a diverged model: use an intact copy"
        }
    }
}
