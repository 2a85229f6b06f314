import CDNNL
import Foundation

/// `GEMM` on oneDNN matmul primitives, f32 or bf16 operands with f32 accumulation.
///
/// A primitive is created the first time a shape is seen on a thread and reused for every later
/// call (creation costs milliseconds; execution of a cached one, microseconds). Each calling
/// thread has its own stream, primitives and bf16 operand buffers, so fairtune's workers run
/// products concurrently with no lock beyond finding their state.
///
/// Threads: oneDNN here is built on OpenMP. Each call runs on `threads` OpenMP threads of the
/// calling thread; with 1 (fairtune's workers split the products) no OpenMP pool exists at all,
/// so nothing spins while the workers run the row-wise kernels.
enum OneDNNGEMM {
    /// Everything a primitive is specialised for.
    struct Shape: Hashable {
        var transA, transB: Bool
        var m, n, k, lda, ldb, ldc: Int
        var alpha, beta: Float
        var bf16: Bool
        var threads: Int
        /// Adds a bias row (n floats) to every row of C in the product's epilogue.
        var bias = false
        /// Applies the exact GELU last, in the epilogue.
        var gelu = false
        /// Independent products in one call (attention's heads), operand i `i · stride` elements
        /// after the base pointer (bias and GELU unsupported).
        var batch = 1
        var strideA = 0, strideB = 0, strideC = 0
        /// C is written in bf16 (`UInt16` bits; beta must be 0): the next product's operand.
        var bf16Output = false
        /// Adds an (m, n) f32 matrix with C's leading dimension after the bias, in the epilogue (a
        /// residual connection; beta 0, no GELU): C = alpha·AB + bias + R.
        var residual = false
    }

    /// A primitive and its memory objects (their data pointers are set per call).
    final class Primitive {
        let primitive: dnnl_primitive_t
        let a, b, c: dnnl_memory_t
        let bias, residual: dnnl_memory_t?
        /// The same memory objects as `dnnl_primitive_execute` takes them (built once: no allocation per call).
        var executeArguments: [dnnl_exec_arg_t]
        init(primitive: dnnl_primitive_t, a: dnnl_memory_t, b: dnnl_memory_t, c: dnnl_memory_t, bias: dnnl_memory_t?,
             residual: dnnl_memory_t?) {
            (self.primitive, self.a, self.b, self.c, self.bias, self.residual) = (primitive, a, b, c, bias, residual)
            executeArguments = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC_0, memory: a), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS_0, memory: b),
                                dnnl_exec_arg_t(arg: DNNL_ARG_DST_0, memory: c)]
            if let bias { executeArguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: bias)) }
            // The first post-op's second source: DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1.
            if let residual {
                executeArguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE | DNNL_ARG_SRC_1, memory: residual))
            }
        }
        deinit {
            dnnl_primitive_destroy(primitive)
            dnnl_memory_destroy(a); dnnl_memory_destroy(b); dnnl_memory_destroy(c)
            if let bias { dnnl_memory_destroy(bias) }
            if let residual { dnnl_memory_destroy(residual) }
        }
    }

    /// One calling thread's stream, primitives and bf16 copies of its operands.
    final class ThreadState {
        let stream: dnnl_stream_t
        var primitives: [Shape: Primitive] = [:]
        /// Softmax and GELU primitives (`OneDNNKernels`).
        var kernels: [OneDNNKernels.Kind: OneDNNKernels.Primitive] = [:]
        var aBF16 = GrowingBuffer<UInt16>(), bBF16 = GrowingBuffer<UInt16>()
        init(engine: dnnl_engine_t) {
            var s: dnnl_stream_t?
            check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "stream")
            stream = s!
        }
    }

    /// The CPU engine, created on first use.
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "CPU engine")
        return e!
    }()

    nonisolated(unsafe) private static var states: [pthread_t: ThreadState] = [:]
    private static let statesLock = NSLock()

    /// The calling thread's state (threads are few: the main thread and fairtune's workers).
    static func threadState() -> ThreadState {
        let id = pthread_self()
        statesLock.lock()
        defer { statesLock.unlock() }
        if let state = states[id] { return state }
        let state = ThreadState(engine: engine)
        states[id] = state
        return state
    }

    /// `omp_set_num_threads` of the OpenMP runtime oneDNN loaded, found at run time (libgomp's
    /// development link is not on the default library path).
    static let setOpenMPThreads: (@convention(c) (Int32) -> Void)? = {
        guard let symbol = dlsym(nil, "omp_set_num_threads") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Void).self)
    }()

    /// `C = alpha · op(A) · op(B) + beta · C` as `GEMM.multiply`; requires m, n, k > 0. For a bf16
    /// shape the f32 operands are first rounded into this thread's dense bf16 copies.
    static func multiply(_ shape: Shape, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                         bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil) {
        guard shape.bf16 else {
            execute(shape, a: UnsafeRawPointer(a), b: UnsafeRawPointer(b), c: c, bias: bias, residual: residual)
            return
        }
        let state = threadState()
        let aRows = shape.transA ? shape.k : shape.m, aColumns = shape.transA ? shape.m : shape.k
        let bRows = shape.transB ? shape.n : shape.k, bColumns = shape.transB ? shape.k : shape.n
        let aCopy = state.aBF16.reserve(aRows * aColumns), bCopy = state.bBF16.reserve(bRows * bColumns)
        BFloat16.convert(rows: aRows, columns: aColumns, from: a, stride: shape.lda, to: aCopy)
        BFloat16.convert(rows: bRows, columns: bColumns, from: b, stride: shape.ldb, to: bCopy)
        var dense = shape
        dense.lda = aColumns
        dense.ldb = bColumns
        execute(dense, a: UnsafeRawPointer(aCopy), b: UnsafeRawPointer(bCopy), c: c, bias: bias, residual: residual)
    }

    /// Runs the cached primitive of `shape` on operands already in its type (bf16 operands as
    /// `UInt16` bits with the shape's leading dimensions); `bias` is required when `shape.bias`.
    static func execute(_ shape: Shape, a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutablePointer<Float>,
                        bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil) {
        precondition(!shape.bf16Output, "a bf16 destination is written through execute(_:a:b:cBF16:bias:)")
        precondition(shape.residual == (residual != nil), "a residual shape needs its matrix, and only it")
        run(shape, a: a, b: b, c: UnsafeMutableRawPointer(c), bias: bias, residual: residual)
    }

    /// `execute` writing C in bf16 (`shape.bf16Output`).
    static func execute(_ shape: Shape, a: UnsafeRawPointer, b: UnsafeRawPointer, cBF16: UnsafeMutablePointer<UInt16>,
                        bias: UnsafePointer<Float>? = nil) {
        precondition(shape.bf16Output && shape.beta == 0, "a bf16 destination needs shape.bf16Output and beta 0")
        run(shape, a: a, b: b, c: UnsafeMutableRawPointer(cBF16), bias: bias, residual: nil)
    }

    private static func run(_ shape: Shape, a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutableRawPointer,
                            bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?) {
        setOpenMPThreads?(Int32(shape.threads))
        let state = threadState()
        let primitive = state.primitives[shape] ?? makePrimitive(shape, state: state)
        check(dnnl_memory_set_data_handle(primitive.a, UnsafeMutableRawPointer(mutating: a)), "set A")
        check(dnnl_memory_set_data_handle(primitive.b, UnsafeMutableRawPointer(mutating: b)), "set B")
        check(dnnl_memory_set_data_handle(primitive.c, c), "set C")
        if let memory = primitive.bias {
            guard let bias else { preconditionFailure("a bias shape needs its bias: \(shape)") }
            check(dnnl_memory_set_data_handle(memory, UnsafeMutableRawPointer(mutating: bias)), "set bias")
        }
        if let memory = primitive.residual, let residual {
            check(dnnl_memory_set_data_handle(memory, UnsafeMutableRawPointer(mutating: residual)), "set residual")
        }
        check(dnnl_primitive_execute(primitive.primitive, state.stream, Int32(primitive.executeArguments.count),
                                     &primitive.executeArguments), "execute matmul")
        check(dnnl_stream_wait(state.stream), "wait")
    }

    /// Creates and caches the primitive for `shape` on this thread.
    private static func makePrimitive(_ shape: Shape, state: ThreadState) -> Primitive {
        let type = shape.bf16 ? dnnl_bf16 : dnnl_f32
        precondition(shape.batch == 1 || !(shape.bias || shape.gelu || shape.residual), "batched products take no epilogue")
        precondition(!shape.residual || (shape.beta == 0 && !shape.gelu), "a residual epilogue takes no beta or GELU")
        var aDesc = matrixDesc(rows: shape.m, columns: shape.k, ld: shape.lda, transposed: shape.transA, type: type,
                               batch: shape.batch, batchStride: shape.strideA)
        var bDesc = matrixDesc(rows: shape.k, columns: shape.n, ld: shape.ldb, transposed: shape.transB, type: type,
                               batch: shape.batch, batchStride: shape.strideB)
        var cDesc = matrixDesc(rows: shape.m, columns: shape.n, ld: shape.ldc, transposed: false,
                               type: shape.bf16Output ? dnnl_bf16 : dnnl_f32,
                               batch: shape.batch, batchStride: shape.strideC)
        var biasDesc = matrixDesc(rows: 1, columns: shape.n, ld: shape.n, transposed: false, type: dnnl_f32)
        var residualDesc = matrixDesc(rows: shape.m, columns: shape.n, ld: shape.ldc, transposed: false, type: dnnl_f32)
        var desc = dnnl_matmul_desc_t()
        if shape.bias {
            check(dnnl_matmul_desc_init(&desc, &aDesc, &bDesc, &biasDesc, &cDesc), "matmul descriptor \(shape)")
        } else {
            check(dnnl_matmul_desc_init(&desc, &aDesc, &bDesc, nil, &cDesc), "matmul descriptor \(shape)")
        }
        var attr: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attr), "attributes")
        defer { dnnl_primitive_attr_destroy(attr) }
        if shape.alpha != 1 {
            var alpha = shape.alpha
            check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "alpha")
        }
        if shape.beta != 0 || shape.gelu || shape.residual {
            // In order: C = GELU(alpha·AB + bias + beta·C), or alpha·AB + bias + R.
            var postOps: dnnl_post_ops_t?
            check(dnnl_post_ops_create(&postOps), "post-ops")
            defer { dnnl_post_ops_destroy(postOps) }
            if shape.residual { check(dnnl_post_ops_append_binary(postOps, dnnl_binary_add, &residualDesc), "residual") }
            if shape.beta != 0 { check(dnnl_post_ops_append_sum(postOps, shape.beta), "beta") }
            if shape.gelu { check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_gelu_erf, 0, 0), "GELU") }
            check(dnnl_primitive_attr_set_post_ops(attr, postOps), "post-ops")
        }
        var pd: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil), "matmul for \(shape)")
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        check(dnnl_primitive_create(&primitive, pd), "matmul primitive")
        let made = Primitive(primitive: primitive!, a: memory(&aDesc), b: memory(&bDesc), c: memory(&cDesc),
                             bias: shape.bias ? memory(&biasDesc) : nil, residual: shape.residual ? memory(&residualDesc) : nil)
        state.primitives[shape] = made
        return made
    }

    /// A (rows, columns) matrix, stored row-major with leading dimension `ld`, or stored
    /// transposed as (columns, rows); with `batch` > 1, that many such matrices `batchStride` apart.
    private static func matrixDesc(rows: Int, columns: Int, ld: Int, transposed: Bool,
                                   type: dnnl_data_type_t, batch: Int = 1, batchStride: Int = 0) -> dnnl_memory_desc_t {
        var desc = dnnl_memory_desc_t()
        var dims: [Int64] = [Int64(rows), Int64(columns)]
        var strides: [Int64] = transposed ? [1, Int64(ld)] : [Int64(ld), 1]
        if batch > 1 {
            dims.insert(Int64(batch), at: 0)
            strides.insert(Int64(batchStride), at: 0)
        }
        check(dnnl_memory_desc_init_by_strides(&desc, Int32(dims.count), dims, type, strides), "memory descriptor")
        return desc
    }

    private static func memory(_ desc: inout dnnl_memory_desc_t) -> dnnl_memory_t {
        var m: dnnl_memory_t?
        check(dnnl_memory_create(&m, &desc, engine, nil), "memory object")
        return m!
    }

    /// The name of the kernel oneDNN picks for a product, e.g. `brg:avx512_core_bf16` (for `fairtune env`).
    static func implementation(m: Int, n: Int, k: Int, bf16: Bool) -> String? {
        var aDesc = matrixDesc(rows: m, columns: k, ld: k, transposed: false, type: bf16 ? dnnl_bf16 : dnnl_f32)
        var bDesc = matrixDesc(rows: k, columns: n, ld: k, transposed: true, type: bf16 ? dnnl_bf16 : dnnl_f32)
        var cDesc = matrixDesc(rows: m, columns: n, ld: n, transposed: false, type: dnnl_f32)
        var desc = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&desc, &aDesc, &bDesc, nil, &cDesc) == dnnl_success else { return nil }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, nil, engine, nil) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return nil }
        return String(cString: name)
    }

    /// oneDNN failing on a shape it was built for is a bug in fairtune or the library, not an input.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN failed (status \(status.rawValue)): \(what())")
    }
}
