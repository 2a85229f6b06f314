#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Reading tensors as numbers

extension SafeTensorsFile {
    /// The tensor `name` as f32 values (row-major): F32 copied, F16 and BF16 widened exactly,
    /// F64 rounded to nearest.
    ///
    /// - Throws: `missingTensor`, or `unsupportedConversion` for integer and other dtypes.
    public func floats(_ name: String) throws(SafeTensorsError) -> [Float] {
        let info = try requireFloatInfo(name)
        return [Float](unsafeUninitializedCapacity: info.count) { destination, initialized in
            convertFloats(info, into: destination)
            initialized = info.count
        }
    }

    /// Converts the tensor `name` to f32 straight into `destination` (no allocation), e.g. into a
    /// view of the model's parameter buffer.
    ///
    /// - Throws: `missingTensor`, `unsupportedConversion`, or `countMismatch` when
    ///   `destination.count` differs from the tensor's element count.
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws(SafeTensorsError) {
        let info = try requireFloatInfo(name)
        guard destination.count == info.count else {
            throw .countMismatch(file: path, tensor: name, expected: info.count, given: destination.count)
        }
        convertFloats(info, into: destination)
    }

    /// The tensor `name` as f64 values: F64 copied, F32, F16 and BF16 widened exactly (for values
    /// such as learning rates that f32 would round).
    ///
    /// - Throws: `missingTensor`, or `unsupportedConversion` for integer and other dtypes.
    public func doubles(_ name: String) throws(SafeTensorsError) -> [Double] {
        let info = try requireInfo(name)
        let source = bytes(of: info)
        switch info.dtype {
        case .f64:
            return (0..<info.count).map { source.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) }
        case .f32, .f16, .bf16:
            return try floats(name).map(Double.init)
        default:
            throw .unsupportedConversion(file: path, tensor: name, dtype: info.dtype.rawValue, requested: "64-bit floats")
        }
    }

    /// The tensor `name` as 64-bit integers: I64 copied, I32 widened.
    ///
    /// - Throws: `missingTensor`, or `unsupportedConversion` for other dtypes.
    public func int64s(_ name: String) throws(SafeTensorsError) -> [Int64] {
        let info = try requireInfo(name)
        let source = bytes(of: info)
        switch info.dtype {
        case .i64:
            return [Int64](unsafeUninitializedCapacity: info.count) { destination, initialized in
                if info.count > 0 { memcpy(destination.baseAddress!, source.baseAddress!, info.byteCount) }
                initialized = info.count
            }
        case .i32:
            return (0..<info.count).map { Int64(source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        default:
            throw .unsupportedConversion(file: path, tensor: name, dtype: info.dtype.rawValue, requested: "64-bit integers")
        }
    }

    /// Throws `nonFinite` for the first float tensor, in file order, holding a NaN or an infinity
    /// (integer tensors are skipped). Reads every float tensor once.
    public func requireFinite() throws(SafeTensorsError) {
        for info in tensors { try requireFinite(info) }
    }

    /// Throws `nonFinite` when float tensor `name` holds a NaN or an infinity.
    public func requireFinite(_ name: String) throws(SafeTensorsError) {
        try requireFinite(try requireInfo(name))
    }

    private func requireFinite(_ info: TensorInfo) throws(SafeTensorsError) {
        let source = bytes(of: info)
        // A value is non-finite exactly when its exponent bits are all ones.
        func firstNonFinite<Bits: FixedWidthInteger>(_ type: Bits.Type, exponent: Bits) -> Int? {
            (0..<info.count).first { source.loadUnaligned(fromByteOffset: $0 * MemoryLayout<Bits>.size, as: Bits.self) & exponent == exponent }
        }
        let element: Int?
        switch info.dtype {
        case .f32: element = firstNonFinite(UInt32.self, exponent: 0x7F80_0000)
        case .f16: element = firstNonFinite(UInt16.self, exponent: 0x7C00)
        case .bf16: element = firstNonFinite(UInt16.self, exponent: 0x7F80)
        case .f64: element = firstNonFinite(UInt64.self, exponent: 0x7FF0_0000_0000_0000)
        default: element = nil
        }
        guard let element else { return }
        let value: Double
        switch info.dtype {
        case .f32: value = Double(source.loadUnaligned(fromByteOffset: 4 * element, as: Float.self))
        case .f64: value = source.loadUnaligned(fromByteOffset: 8 * element, as: Double.self)
        case .f16: value = Double(floatFromHalf(bits: source.loadUnaligned(fromByteOffset: 2 * element, as: UInt16.self)))
        default: value = Double(Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * element, as: UInt16.self)) << 16))
        }
        throw .nonFinite(file: path, tensor: info.name, element: element, value: "\(value)")
    }

    private func requireFloatInfo(_ name: String) throws(SafeTensorsError) -> TensorInfo {
        let info = try requireInfo(name)
        switch info.dtype {
        case .f32, .f16, .bf16, .f64: return info
        default:
            throw .unsupportedConversion(file: path, tensor: name, dtype: info.dtype.rawValue, requested: "32-bit floats")
        }
    }

    /// Converts a validated float tensor; `destination.count == info.count`.
    private func convertFloats(_ info: TensorInfo, into destination: UnsafeMutableBufferPointer<Float>) {
        let count = info.count
        guard count > 0, let output = destination.baseAddress else { return }
        let source = bytes(of: info)
        switch info.dtype {
        case .f32:
            memcpy(output, source.baseAddress!, info.byteCount)
        case .f16:
            for i in 0..<count {
                output[i] = floatFromHalf(bits: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .bf16:
            // bf16 is the upper half of an f32, so widening is a shift.
            for i in 0..<count {
                output[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .f64:
            for i in 0..<count {
                output[i] = Float(source.loadUnaligned(fromByteOffset: 8 * i, as: Double.self))
            }
        default:
            preconditionFailure("convertFloats called for \(info.dtype)")
        }
    }
}

// MARK: - Half precision

/// Widens IEEE binary16 bits to f32 exactly; uses the hardware `Float16` where Swift has it.
@inline(__always)
func floatFromHalf(bits: UInt16) -> Float {
    #if (os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64)
    return floatFromHalfBySoftware(bits: bits)
    #else
    return Float(Float16(bitPattern: bits))
    #endif
}

/// Widens IEEE binary16 bits to f32 exactly without `Float16` (unavailable on Intel macOS);
/// tested against `Float16` for all 65536 patterns.
func floatFromHalfBySoftware(bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let mantissa = UInt32(bits) & 0x3FF
    switch exponent {
    case 0:
        // Zero or subnormal: mantissa × 2^-24, exact in f32.
        let magnitude = Float(mantissa) * 0x1p-24
        return Float(bitPattern: sign | magnitude.bitPattern)
    case 0x1F:
        // Infinity or NaN (payload kept in the top mantissa bits).
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    default:
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
