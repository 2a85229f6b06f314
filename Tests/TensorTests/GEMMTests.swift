import Tensor
import Testing

/// A naive triple loop: the reference every GEMM path is checked against (in double precision).
private func naiveProduct(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float,
                          a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
    var out = c
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let av = ta == .none ? a[i * lda + p] : a[p * lda + i]
                let bv = tb == .none ? b[p * ldb + j] : b[j * ldb + p]
                sum += Double(av) * Double(bv)
            }
            out[i * ldc + j] = Float(Double(alpha) * sum + Double(beta) * Double(c[i * ldc + j]))
        }
    }
    return out
}

private func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
    }
}

@Suite struct GEMMTests {
    @Test(arguments: [(Transpose.none, Transpose.none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)])
    func matchesNaiveProduct(ta: Transpose, tb: Transpose) {
        let (m, n, k) = (7, 5, 11)
        // Padded leading dimensions check that strides are honoured.
        let lda = (ta == .none ? k : m) + 2, ldb = (tb == .none ? n : k) + 1, ldc = n + 3
        let a = randomValues((ta == .none ? m : k) * lda, seed: 1)
        let b = randomValues((tb == .none ? k : n) * ldb, seed: 2)
        var c = randomValues(m * ldc, seed: 3)
        let expected = naiveProduct(ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                                    beta: 2, c: c, ldc: ldc)
        c.withUnsafeMutableBufferPointer { cp in
            GEMM.multiply(ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 2,
                          c: cp.baseAddress!, ldc: ldc)
        }
        for i in 0..<(m * ldc) { #expect(abs(c[i] - expected[i]) <= 1e-5 * max(1, abs(expected[i])), "element \(i)") }
    }

    @Test func batchedProductsMatchOneAtATime() {
        let (m, n, k, batches) = (4, 3, 6, 5)
        let a = randomValues(batches * m * k, seed: 4)
        let b = randomValues(batches * n * k, seed: 5)
        var c = [Float](repeating: 0, count: batches * m * n)
        c.withUnsafeMutableBufferPointer { cp in
            GEMM.multiplyBatched(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, strideA: m * k,
                                 b: b, ldb: k, strideB: n * k, c: cp.baseAddress!, ldc: n, strideC: m * n,
                                 batchCount: batches)
        }
        for bi in 0..<batches {
            let expected = naiveProduct(.none, .transposed, m: m, n: n, k: k, alpha: 1,
                                        a: Array(a[(bi * m * k)..<((bi + 1) * m * k)]), lda: k,
                                        b: Array(b[(bi * n * k)..<((bi + 1) * n * k)]), ldb: k,
                                        beta: 0, c: [Float](repeating: 0, count: m * n), ldc: n)
            for i in 0..<(m * n) { #expect(abs(c[bi * m * n + i] - expected[i]) <= 1e-5) }
        }
    }

    @Test func emptyProductsLeaveOutputAlone() {
        var c: [Float] = [42]
        c.withUnsafeMutableBufferPointer { cp in
            GEMM.multiply(.none, .none, m: 0, n: 1, k: 3, a: [0, 0, 0], lda: 3, b: [1, 2, 3], ldb: 1,
                          c: cp.baseAddress!, ldc: 1)
        }
        #expect(c == [42])
    }
}

@Suite struct BLASRuntimeTests {
    @Test func threadCountCanBeSet() {
        let before = BLASRuntime.threads
        BLASRuntime.setThreads(1)
        #expect(BLASRuntime.threads == 1)
        BLASRuntime.setThreads(before)
        #expect(BLASRuntime.config.contains("OpenBLAS"))
    }

    @Test func coreTypeOverrideOnlyWhenAVX512IsUnused() {
        let avx512: Set<String> = ["avx2", "avx512f"]
        // Zen 5 with OpenBLAS 0.3.21: AVX-512 CPU, Haswell kernels -> restart with SkylakeX.
        #expect(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: avx512, coreName: "Haswell") == "SkylakeX")
        #expect(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: avx512, coreName: "Zen") == "SkylakeX")
        // Zen 4: OpenBLAS already picks Cooperlake.
        #expect(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: avx512, coreName: "Cooperlake") == nil)
        #expect(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: avx512, coreName: "SKYLAKEX") == nil)
        // No AVX-512, or the user chose: leave it.
        #expect(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: ["avx2"], coreName: "Haswell") == nil)
        #expect(BLASRuntime.coreTypeOverride(environment: ["OPENBLAS_CORETYPE": "Haswell"], cpuFlags: avx512,
                                             coreName: "Haswell") == nil)
    }

    @Test func parsesCPUInfo() {
        let text = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            cpu family\t: 26
            model\t\t: 2
            model name\t: AMD EPYC 9R45
            flags\t\t: fpu avx2 fma avx512f avx512bw avx512_bf16

            processor\t: 1
            model name\t: AMD EPYC 9R45
            flags\t\t: fpu

            """
        let cpu = CPUInfo(cpuinfo: text)
        #expect(cpu.modelName == "AMD EPYC 9R45")
        #expect(cpu.family == 26 && cpu.model == 2)
        #expect(cpu.logicalProcessors == 2)
        #expect(cpu.flags.contains("avx512f"))
        #expect(cpu.simdFlags == ["avx2", "fma", "avx512f", "avx512bw", "avx512_bf16"])
    }

    @Test func countsTheCPUsOfTheAffinityList() {
        #expect(CPUInfo.usableProcessors(status: "Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n") == 2)
        #expect(CPUInfo.usableProcessors(status: "Cpus_allowed_list:\t0-3,8,10-11\n") == 7)
        #expect(CPUInfo.usableProcessors(status: "Cpus_allowed_list:\t5\n") == 1)
        #expect(CPUInfo.usableProcessors(status: "Cpus_allowed_list:\t3-1\n") == nil)
        #expect(CPUInfo.usableProcessors(status: "Cpus_allowed_list:\tx\n") == nil)
        #expect(CPUInfo.usableProcessors(status: "Name:\tx\n") == nil)
    }
}
