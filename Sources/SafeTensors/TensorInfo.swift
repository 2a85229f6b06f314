/// One tensor listed in a safetensors header: name, element type, shape and where its bytes are.
public struct TensorInfo: Sendable, Equatable {
    /// The header key, e.g. `blocks.0.attn.qkv.weight`.
    public let name: String
    public let dtype: DType
    /// Row-major dimensions; empty for a scalar.
    public let shape: [Int]
    /// Byte range relative to the start of the data buffer (after the header).
    public let dataOffsets: Range<Int>

    /// Number of elements (product of `shape`; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// Number of bytes the tensor occupies in the buffer.
    public var byteCount: Int { dataOffsets.count }

    /// Creates a description; `SafeTensorsFile` validates offsets against dtype and shape.
    public init(name: String, dtype: DType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }
}
