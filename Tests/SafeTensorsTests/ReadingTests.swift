import Foundation
import Testing
@testable import SafeTensors

/// Files written by the Python safetensors 0.8.0 library (data-prep/fixtures/make_safetensors_fixtures.py).
struct ReadingTests {
    let file: SafeTensorsFile

    init() throws {
        file = try SafeTensorsFile(path: FixturePaths.path("dtypes.safetensors"))
    }

    @Test func metadataAndListing() throws {
        #expect(file.metadata == ["format": "pt"])
        #expect(file.info("weight")?.shape == [2, 3, 4])
        #expect(file.info("weight")?.dtype == .f32)
        #expect(file.info("half")?.dtype == .f16)
        #expect(file.info("brain")?.dtype == .bf16)
        #expect(file.info("double")?.dtype == .f64)
        #expect(file.info("ids")?.dtype == .i64)
        #expect(file.info("small_ids")?.shape == [2, 2])
        #expect(file.info("absent") == nil)
        let begins = file.tensors.map(\.dataOffsets.lowerBound)
        #expect(begins == begins.sorted(), "tensors must be listed in data-offset order")
        #expect(file.tensors.count == 11)
    }

    /// Each float dtype converted by us equals torch's own `.to(torch.float32)`, bit for bit.
    @Test(arguments: ["weight", "half", "brain", "double"])
    func floatConversionMatchesTorch(name: String) throws {
        let ours = try file.floats(name)
        let torch = try file.floats("\(name).as_f32")
        #expect(file.info(name)?.shape == file.info("\(name).as_f32")?.shape)
        #expect(ours.count == torch.count)
        for (index, (a, b)) in zip(ours, torch).enumerated() {
            #expect(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN), "\(name)[\(index)]: \(a) vs torch \(b)")
        }
        var buffer = [Float](repeating: -1, count: ours.count)
        try buffer.withUnsafeMutableBufferPointer { try file.readFloats(name, into: $0) }
        #expect(zip(buffer, ours).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    @Test func doublesAreExactForF64AndWidenedOtherwise() throws {
        let f64 = try file.doubles("double")
        let narrowed = try file.floats("double.as_f32")
        #expect(f64.count == narrowed.count)
        // Each f64 value rounds to torch's f32 conversion; f32 tensors widen without change.
        #expect(zip(f64, narrowed).allSatisfy { Float($0).bitPattern == $1.bitPattern })
        #expect(try file.doubles("weight") == file.floats("weight").map(Double.init))
        #expect(throws: SafeTensorsError.unsupportedConversion(
            file: FixturePaths.path("dtypes.safetensors"), tensor: "ids", dtype: "I64", requested: "64-bit floats")) {
            try file.doubles("ids")
        }
    }

    @Test func integers() throws {
        // The values the generator script stores in "ids".
        #expect(try file.int64s("ids") == [0, -1, (1 << 40) + 3, -(1 << 62), Int64.max])
        #expect(try file.int64s("small_ids") == file.int64s("small_ids.as_i64"))
    }

    @Test func wrongRequestsAreTypedErrors() throws {
        let path = FixturePaths.path("dtypes.safetensors")
        #expect(throws: SafeTensorsError.missingTensor(file: path, tensor: "absent")) { try file.floats("absent") }
        #expect(throws: SafeTensorsError.unsupportedConversion(file: path, tensor: "ids", dtype: "I64", requested: "32-bit floats")) {
            try file.floats("ids")
        }
        #expect(throws: SafeTensorsError.unsupportedConversion(file: path, tensor: "weight", dtype: "F32", requested: "64-bit integers")) {
            try file.int64s("weight")
        }
        var short = [Float](repeating: 0, count: 5)
        #expect(throws: SafeTensorsError.countMismatch(file: path, tensor: "weight", expected: 24, given: 5)) {
            try short.withUnsafeMutableBufferPointer { try file.readFloats("weight", into: $0) }
        }
    }

    /// The fallback used where Swift lacks `Float16` agrees with `Float16` on every bit pattern.
    @Test func softwareHalfConversionMatchesFloat16() {
        var mismatches = 0
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = floatFromHalfBySoftware(bits: bits)
            if !(expected.bitPattern == actual.bitPattern || (expected.isNaN && actual.isNaN)) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func missingFileAndFolder() {
        let missing = FixturePaths.path("no_such_file.safetensors")
        #expect(throws: SafeTensorsError.cannotOpen(file: missing, reason: "no such file")) {
            try SafeTensorsFile(path: missing)
        }
        #expect(throws: SafeTensorsError.cannotOpen(file: FixturePaths.folder.path, reason: "it is a directory, not a file")) {
            try SafeTensorsFile(path: FixturePaths.folder.path)
        }
    }
}
