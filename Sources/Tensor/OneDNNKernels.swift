import CDNNL

/// oneDNN's row-wise and element-wise primitives (softmax, exact GELU) on bf16 tensors: JIT
/// kernels for the CPU at hand (AVX-512 where it has it), where our own loops are built for AVX2.
///
/// Each call runs on the calling thread (callers split rows across fairtune's workers, as for
/// the products). A primitive is created the first time a shape is seen on a thread and reused.
enum OneDNNKernels {
    /// Everything a primitive is specialised for.
    enum Kind: Hashable {
        /// Softmax along rows of `columns`: f32 scores in, bf16 probabilities out.
        case softmaxForward(rows: Int, columns: Int)
        /// Its backward, all bf16: probabilities and dL/dprobabilities in, dL/dscores out.
        case softmaxBackward(rows: Int, columns: Int)
        /// Exact (erf) GELU over `count` bf16 values.
        case geluForward(count: Int)
        /// Its backward over `count` bf16 values: pre-activation and dL/doutput in, dL/dinput out.
        case geluBackward(count: Int)
    }

    /// A primitive and one memory object per argument (data pointers set per call).
    final class Primitive {
        let primitive: dnnl_primitive_t
        let arguments: [(id: Int32, memory: dnnl_memory_t)]
        /// The same, as `dnnl_primitive_execute` takes them (built once: no allocation per call).
        var executeArguments: [dnnl_exec_arg_t]
        init(primitive: dnnl_primitive_t, arguments: [(id: Int32, memory: dnnl_memory_t)]) {
            (self.primitive, self.arguments) = (primitive, arguments)
            executeArguments = arguments.map { dnnl_exec_arg_t(arg: $0.id, memory: $0.memory) }
        }
        deinit {
            dnnl_primitive_destroy(primitive)
            for argument in arguments { dnnl_memory_destroy(argument.memory) }
        }
    }

    /// `probabilities` (rows, columns) bf16 = softmax of each row of `scores` (f32, dense rows).
    static func softmaxForward(rows: Int, columns: Int, scores: UnsafePointer<Float>,
                               probabilities: UnsafeMutablePointer<UInt16>) {
        run(.softmaxForward(rows: rows, columns: columns), scores, probabilities)
    }

    /// `scoresGradient` = y ⊙ (dy − Σ_j dy_j y_j) per row, all (rows, columns) bf16, dense rows;
    /// `scoresGradient` may equal `probabilitiesGradient` (oneDNN's softmax backward runs in place).
    static func softmaxBackward(rows: Int, columns: Int, probabilities: UnsafePointer<UInt16>,
                                probabilitiesGradient: UnsafePointer<UInt16>, scoresGradient: UnsafeMutablePointer<UInt16>) {
        run(.softmaxBackward(rows: rows, columns: columns), probabilities, probabilitiesGradient, scoresGradient)
    }

    /// `output` = GELU(`input`), `count` bf16 values; `output` may equal `input`.
    static func geluForward(count: Int, input: UnsafePointer<UInt16>, output: UnsafeMutablePointer<UInt16>) {
        run(.geluForward(count: count), input, output)
    }

    /// `inputGradient` = `outputGradient` · GELU′(`input`), `count` bf16 values; `inputGradient`
    /// may equal `outputGradient`.
    static func geluBackward(count: Int, input: UnsafePointer<UInt16>, outputGradient: UnsafePointer<UInt16>,
                             inputGradient: UnsafeMutablePointer<UInt16>) {
        run(.geluBackward(count: count), input, outputGradient, inputGradient)
    }

    /// Runs `kind`'s primitive of this thread on `pointers`, in the order of its arguments.
    private static func run(_ kind: Kind, _ first: UnsafeRawPointer, _ second: UnsafeRawPointer,
                            _ third: UnsafeRawPointer? = nil) {
        OneDNNGEMM.setOpenMPThreads?(1)
        let state = OneDNNGEMM.threadState()
        let primitive = state.kernels[kind] ?? makePrimitive(kind, state: state)
        precondition(primitive.arguments.count == (third == nil ? 2 : 3), "\(kind) takes \(primitive.arguments.count) tensors")
        func set(_ index: Int, _ pointer: UnsafeRawPointer) {
            let argument = primitive.arguments[index]
            OneDNNGEMM.check(dnnl_memory_set_data_handle(argument.memory, UnsafeMutableRawPointer(mutating: pointer)),
                             "set argument \(argument.id) of \(kind)")
        }
        set(0, first)
        set(1, second)
        if let third { set(2, third) }
        OneDNNGEMM.check(dnnl_primitive_execute(primitive.primitive, state.stream, Int32(primitive.executeArguments.count),
                                                &primitive.executeArguments), "execute \(kind)")
        OneDNNGEMM.check(dnnl_stream_wait(state.stream), "wait")
    }

    /// Creates and caches `kind`'s primitive on this thread.
    private static func makePrimitive(_ kind: Kind, state: OneDNNGEMM.ThreadState) -> Primitive {
        let (pd, arguments) = primitiveDescriptor(kind)
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        OneDNNGEMM.check(dnnl_primitive_create(&primitive, pd), "primitive \(kind)")
        let made = Primitive(primitive: primitive!, arguments: arguments.map { argument in
            var d = argument.desc
            var memory: dnnl_memory_t?
            OneDNNGEMM.check(dnnl_memory_create(&memory, &d, OneDNNGEMM.engine, nil), "memory of \(kind)")
            return (argument.id, memory!)
        })
        state.kernels[kind] = made
        return made
    }

    /// `kind`'s primitive descriptor (the caller destroys it) and its arguments in `run`'s order;
    /// a backward one is created against its forward's, as oneDNN asks.
    private static func primitiveDescriptor(_ kind: Kind) -> (dnnl_primitive_desc_t, [(id: Int32, desc: dnnl_memory_desc_t)]) {
        var pd: dnnl_primitive_desc_t?
        func create(_ d: UnsafeRawPointer, hint: Kind? = nil) {
            let forward = hint.map { primitiveDescriptor($0).0 }
            defer { if let forward { dnnl_primitive_desc_destroy(forward) } }
            OneDNNGEMM.check(dnnl_primitive_desc_create(&pd, d, nil, OneDNNGEMM.engine, forward), "descriptor of \(kind)")
        }
        switch kind {
        case .softmaxForward(let rows, let columns):
            var src = desc([rows, columns], dnnl_f32), dst = desc([rows, columns], dnnl_bf16)
            var d = dnnl_softmax_v2_desc_t()
            OneDNNGEMM.check(dnnl_softmax_v2_forward_desc_init(&d, dnnl_forward_training, dnnl_softmax_accurate, &src, &dst, 1),
                             "softmax \(kind)")
            create(&d)
            return (pd!, [(DNNL_ARG_SRC, src), (DNNL_ARG_DST, dst)])
        case .softmaxBackward(let rows, let columns):
            var data = desc([rows, columns], dnnl_bf16)
            var d = dnnl_softmax_v2_desc_t()
            OneDNNGEMM.check(dnnl_softmax_v2_backward_desc_init(&d, dnnl_softmax_accurate, &data, &data, &data, 1),
                             "softmax \(kind)")
            create(&d, hint: .softmaxForward(rows: rows, columns: columns))
            return (pd!, [(DNNL_ARG_DST, data), (DNNL_ARG_DIFF_DST, data), (DNNL_ARG_DIFF_SRC, data)])
        case .geluForward(let count):
            var data = desc([count], dnnl_bf16)
            var d = dnnl_eltwise_desc_t()
            OneDNNGEMM.check(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, dnnl_eltwise_gelu_erf, &data, 0, 0),
                             "GELU \(kind)")
            create(&d)
            return (pd!, [(DNNL_ARG_SRC, data), (DNNL_ARG_DST, data)])
        case .geluBackward(let count):
            var data = desc([count], dnnl_bf16)
            var d = dnnl_eltwise_desc_t()
            OneDNNGEMM.check(dnnl_eltwise_backward_desc_init(&d, dnnl_eltwise_gelu_erf, &data, &data, 0, 0), "GELU \(kind)")
            create(&d, hint: .geluForward(count: count))
            return (pd!, [(DNNL_ARG_SRC, data), (DNNL_ARG_DIFF_DST, data), (DNNL_ARG_DIFF_SRC, data)])
        }
    }

    /// A dense row-major tensor of `dims`.
    private static func desc(_ dims: [Int], _ type: dnnl_data_type_t) -> dnnl_memory_desc_t {
        var d = dnnl_memory_desc_t()
        let tag = dims.count == 1 ? dnnl_a : dnnl_ab
        OneDNNGEMM.check(dnnl_memory_desc_init_by_tag(&d, Int32(dims.count), dims.map(Int64.init), type, tag), "descriptor \(dims)")
        return d
    }
}
