import Foundation
import Testing
@testable import SafeTensors

/// One damaged fixture (`bad_<name>.safetensors`), the error kind it must raise and the tensor
/// that error must name (nil when the damage is in the file or header as a whole).
struct DamagedFile: Sendable, CustomTestStringConvertible {
    let name: String
    let kind: String
    let tensor: String?

    var testDescription: String { name }
}

/// Every damaged file the generator writes; the generator checks that the reference library
/// rejects each of them too.
let damagedFiles: [DamagedFile] = [
    .init(name: "empty", kind: "truncated", tensor: nil),
    .init(name: "short_prefix", kind: "truncated", tensor: nil),
    .init(name: "header_too_large", kind: "headerTooLarge", tensor: nil),
    .init(name: "header_beyond_end", kind: "truncated", tensor: nil),
    .init(name: "truncated_data", kind: "offsetsOutOfBounds", tensor: "b"),
    .init(name: "malformed_json", kind: "malformedHeader", tensor: nil),
    .init(name: "invalid_utf8", kind: "malformedHeader", tensor: nil),
    .init(name: "not_object", kind: "headerNotObject", tensor: nil),
    .init(name: "deeply_nested", kind: "malformedHeader", tensor: nil),
    .init(name: "trailing_garbage", kind: "malformedHeader", tensor: nil),
    .init(name: "tensor_not_object", kind: "invalidField:entry", tensor: "a"),
    .init(name: "missing_dtype", kind: "invalidField:dtype", tensor: "a"),
    .init(name: "dtype_not_string", kind: "invalidField:dtype", tensor: "a"),
    .init(name: "unknown_dtype", kind: "unknownDType", tensor: "a"),
    .init(name: "missing_shape", kind: "invalidField:shape", tensor: "a"),
    .init(name: "shape_not_list", kind: "invalidField:shape", tensor: "a"),
    .init(name: "negative_shape", kind: "invalidField:shape", tensor: "a"),
    .init(name: "fractional_shape", kind: "invalidField:shape", tensor: "a"),
    .init(name: "shape_product_overflow", kind: "invalidField:shape", tensor: "a"),
    .init(name: "missing_offsets", kind: "invalidField:data_offsets", tensor: "a"),
    .init(name: "offsets_wrong_count", kind: "invalidField:data_offsets", tensor: "a"),
    .init(name: "offsets_reversed", kind: "invalidField:data_offsets", tensor: "a"),
    .init(name: "leading_zero", kind: "malformedHeader", tensor: nil),
    .init(name: "huge_offset", kind: "invalidField:data_offsets", tensor: "a"),
    .init(name: "offsets_out_of_bounds", kind: "offsetsOutOfBounds", tensor: "a"),
    .init(name: "size_mismatch", kind: "byteCountMismatch", tensor: "a"),
    .init(name: "overlapping", kind: "overlappingTensors", tensor: "b"),
    .init(name: "duplicate_name", kind: "duplicateTensor", tensor: "a"),
    .init(name: "metadata_not_strings", kind: "invalidMetadata", tensor: nil),
]

/// The case name of an error (with the field for `invalidField`), the file and tensor it names.
func classify(_ error: SafeTensorsError) -> (kind: String, file: String, tensor: String?) {
    switch error {
    case let .cannotOpen(file, _): return ("cannotOpen", file, nil)
    case let .truncated(file, _, _, _): return ("truncated", file, nil)
    case let .headerTooLarge(file, _, _): return ("headerTooLarge", file, nil)
    case let .malformedHeader(file, _): return ("malformedHeader", file, nil)
    case let .headerNotObject(file): return ("headerNotObject", file, nil)
    case let .invalidField(file, tensor, field, _): return ("invalidField:\(field)", file, tensor)
    case let .unknownDType(file, tensor, _): return ("unknownDType", file, tensor)
    case let .duplicateTensor(file, tensor): return ("duplicateTensor", file, tensor)
    case let .offsetsOutOfBounds(file, tensor, _, _, _): return ("offsetsOutOfBounds", file, tensor)
    case let .overlappingTensors(file, tensor, _): return ("overlappingTensors", file, tensor)
    case let .byteCountMismatch(file, tensor, _, _, _, _): return ("byteCountMismatch", file, tensor)
    case let .invalidMetadata(file, _): return ("invalidMetadata", file, nil)
    case let .missingTensor(file, tensor): return ("missingTensor", file, tensor)
    case let .unsupportedConversion(file, tensor, _, _): return ("unsupportedConversion", file, tensor)
    case let .countMismatch(file, tensor, _, _): return ("countMismatch", file, tensor)
    case let .cannotWrite(file, _): return ("cannotWrite", file, nil)
    case let .nonFinite(file, tensor, _, _): return ("nonFinite", file, tensor)
    }
}

@Test(arguments: damagedFiles)
func damagedFileIsRejectedWithANamedError(_ damaged: DamagedFile) {
    let path = FixturePaths.path("bad_\(damaged.name).safetensors")
    do {
        _ = try SafeTensorsFile(path: path)
        Issue.record("\(damaged.name): opened without error")
    } catch {
        let (kind, file, tensor) = classify(error)
        #expect(kind == damaged.kind, "\(error)")
        #expect(file == path)
        #expect(tensor == damaged.tensor, "\(error)")
        #expect(error.description.hasPrefix(path))
        if let name = damaged.tensor { #expect(error.description.contains("'\(name)'")) }
    }
}

@Test func everyDamagedFixtureIsCovered() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: FixturePaths.folder.path)
        .filter { $0.hasPrefix("bad_") && $0.hasSuffix(".safetensors") }
        .map { String($0.dropFirst(4).dropLast(12)) }
    #expect(Set(names) == Set(damagedFiles.map(\.name)))
}

/// A header that is not strict JSON names the header byte (and the file byte) where it breaks.
/// Python's `NaN` is refused there, as the reference does: safetensors headers are RFC 8259 JSON.
@Test(arguments: ["NaN", "Infinity", "-Infinity"])
func nonStandardNumberInHeaderIsMalformed(token: String) throws {
    let folder = try FixturePaths.makeScratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,"# + token + "]}}"
    let tokenOffset = header.utf8.count - token.utf8.count - 3
    var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
    bytes += Array(header.utf8) + [UInt8](repeating: 0, count: 8)
    let path = folder.appendingPathComponent("non_finite.safetensors").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    #expect {
        _ = try SafeTensorsFile(path: path)
    } throws: { error in
        guard let error = error as? SafeTensorsError, case .malformedHeader = error else { return false }
        return error.description.contains("\(token) is not a JSON number")
            && error.description.contains("at header byte \(tokenOffset) (file byte \(tokenOffset + 8))")
    }
}

@Test func syntaxErrorNamesItsByte() throws {
    let path = FixturePaths.path("bad_malformed_json.safetensors")
    #expect {
        _ = try SafeTensorsFile(path: path)
    } throws: { error in
        // The header `{"a":{"dtype":"F32",` (20 bytes, padded to 24 with spaces) ends where a name is due.
        String(describing: error).contains("expected a quoted member name at header byte 24 (file byte 32)")
    }
}
