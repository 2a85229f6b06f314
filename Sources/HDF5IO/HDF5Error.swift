/// A failure reading or writing an HDF5 file, naming the file, the object and what was expected.
public enum HDF5Error: Error, Equatable, CustomStringConvertible {
    /// The file is missing, unreadable, not HDF5, or damaged (e.g. truncated).
    case cannotOpen(file: String, reason: String)
    case cannotCreate(file: String, reason: String)
    /// A dataset, group or attribute that is not in the file.
    case missingObject(file: String, path: String)
    case wrongElementType(file: String, path: String, expected: String, found: String)
    case wrongRank(file: String, path: String, expected: Int, shape: [Int])
    /// A hyperslab or buffer that does not fit the dataset.
    case outOfBounds(file: String, path: String, offset: [Int], count: [Int], shape: [Int])
    case sizeMismatch(file: String, path: String, expected: Int, given: Int)
    /// HDF5 failed while reading (often a damaged or truncated file).
    case readFailed(file: String, path: String, reason: String)
    case writeFailed(file: String, path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason):
            return "\(file): cannot open as HDF5 (\(reason))"
        case let .cannotCreate(file, reason):
            return "\(file): cannot create (\(reason))"
        case let .missingObject(file, path):
            return "\(file): '\(path)' not found"
        case let .wrongElementType(file, path, expected, found):
            return "\(file): '\(path)' has element type \(found), expected \(expected)"
        case let .wrongRank(file, path, expected, shape):
            return "\(file): '\(path)' has shape \(shape) (rank \(shape.count)), expected rank \(expected)"
        case let .outOfBounds(file, path, offset, count, shape):
            return "\(file): '\(path)' selection at offset \(offset) of size \(count) lies outside its shape \(shape)"
        case let .sizeMismatch(file, path, expected, given):
            return "\(file): '\(path)' needs \(expected) elements, got \(given)"
        case let .readFailed(file, path, reason):
            return "\(file): reading '\(path)' failed (\(reason)); the file may be damaged or truncated"
        case let .writeFailed(file, path, reason):
            return "\(file): writing '\(path)' failed (\(reason))"
        }
    }
}
