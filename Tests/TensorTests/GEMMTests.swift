import Tensor
import XCTest

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

final class GEMMTests: XCTestCase {
    func testMatchesNaiveProduct() {
        for (ta, tb) in [(Transpose.none, Transpose.none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)] {
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
            for i in 0..<(m * ldc) {
                XCTAssertLessThanOrEqual(abs(c[i] - expected[i]), 1e-5 * max(1, abs(expected[i])), "\(ta), \(tb): element \(i)")
            }
        }
    }

    func testBatchedProductsMatchOneAtATime() {
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
            for i in 0..<(m * n) { XCTAssertEqual(c[bi * m * n + i], expected[i], accuracy: 1e-5, "batch \(bi), element \(i)") }
        }
    }

    func testEmptyProductsLeaveOutputAlone() {
        var c: [Float] = [42]
        c.withUnsafeMutableBufferPointer { cp in
            GEMM.multiply(.none, .none, m: 0, n: 1, k: 3, a: [0, 0, 0], lda: 3, b: [1, 2, 3], ldb: 1,
                          c: cp.baseAddress!, ldc: 1)
        }
        XCTAssertEqual(c, [42])
    }
}

final class BLASRuntimeTests: XCTestCase {
    func testThreadCountCanBeSet() {
        let before = BLASRuntime.threads
        BLASRuntime.setThreads(1)
        XCTAssertEqual(BLASRuntime.threads, 1)
        BLASRuntime.setThreads(before)
        XCTAssertTrue(BLASRuntime.config.contains("OpenBLAS"), BLASRuntime.config)
    }

    func testCoreTypeOverrideOnlyWhenAVX512IsUnused() {
        let avx512: Set<String> = ["avx2", "avx512f"]
        // Zen 5 with OpenBLAS 0.3.21: AVX-512 CPU, Haswell kernels -> restart with SkylakeX.
        XCTAssertEqual(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: avx512, coreName: "Haswell"), "SkylakeX")
        XCTAssertEqual(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: avx512, coreName: "Zen"), "SkylakeX")
        // Zen 4: OpenBLAS already picks Cooperlake.
        XCTAssertNil(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: avx512, coreName: "Cooperlake"))
        XCTAssertNil(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: avx512, coreName: "SKYLAKEX"))
        // No AVX-512, or the user chose: leave it.
        XCTAssertNil(BLASRuntime.coreTypeOverride(environment: [:], cpuFlags: ["avx2"], coreName: "Haswell"))
        XCTAssertNil(BLASRuntime.coreTypeOverride(environment: ["OPENBLAS_CORETYPE": "Haswell"], cpuFlags: avx512,
                                                  coreName: "Haswell"))
    }

    func testParsesCPUInfo() {
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
        XCTAssertEqual(cpu.modelName, "AMD EPYC 9R45")
        XCTAssertEqual(cpu.family, 26)
        XCTAssertEqual(cpu.model, 2)
        XCTAssertEqual(cpu.logicalProcessors, 2)
        XCTAssertTrue(cpu.flags.contains("avx512f"))
        XCTAssertEqual(cpu.simdFlags, ["avx2", "fma", "avx512f", "avx512bw", "avx512_bf16"])
    }

    func testCountsTheCPUsOfTheAffinityList() {
        XCTAssertEqual(CPUInfo.usableProcessors(status: "Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n"), 2)
        XCTAssertEqual(CPUInfo.usableProcessors(status: "Cpus_allowed_list:\t0-3,8,10-11\n"), 7)
        XCTAssertEqual(CPUInfo.usableProcessors(status: "Cpus_allowed_list:\t5\n"), 1)
        XCTAssertNil(CPUInfo.usableProcessors(status: "Cpus_allowed_list:\t3-1\n"))
        XCTAssertNil(CPUInfo.usableProcessors(status: "Cpus_allowed_list:\tx\n"))
        XCTAssertNil(CPUInfo.usableProcessors(status: "Name:\tx\n"))
    }
}
