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
