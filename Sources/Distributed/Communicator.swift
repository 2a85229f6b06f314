import CMPI
import Foundation

/// A failed MPI call, with MPI's own description.
public enum MPIError: Error, Equatable, CustomStringConvertible {
    case initializationFailed(code: Int32)
    case callFailed(function: String, message: String)
    /// Launched as N tasks but this process sees a world of another size (e.g. `srun` without
    /// `--mpi=pmix`, which starts N independent single-rank jobs).
    case worldSizeMismatch(launcher: String, expected: Int, found: Int)
    /// A buffer too large for MPI's 32-bit counts.
    case bufferTooLarge(function: String, bytes: Int)

    public var description: String {
        switch self {
        case let .initializationFailed(code):
            return "MPI_Init_thread failed with code \(code)"
        case let .callFailed(function, message):
            return "\(function) failed: \(message)"
        case let .worldSizeMismatch(launcher, expected, found):
            let advice = launcher == "srun"
                ? "under Slurm launch with `srun --mpi=pmix` for Open MPI or `srun --mpi=pmi2` for MPICH "
                    + "(`srun --mpi=list` shows what this Slurm offers; docs/cluster.md)"
                : "start it with the launcher of the MPI it was built against (`fairtune env --no-mpi` names it)"
            return "\(launcher) started \(expected) tasks but MPI sees a world of \(found); " + advice
        case let .bufferTooLarge(function, bytes):
            return "\(function): \(bytes) bytes exceed MPI's 2^31-1 element count"
        }
    }
}

/// How this process was started, read from the environment.
public enum LaunchKind: Equatable, Sendable {
    /// By an MPI launcher (`mpirun`, or `srun --mpi=pmix`): MPI must be initialised.
    case mpi
    /// As a plain process: a world of one, without initialising MPI.
    case single
    /// As one of `tasks` tasks of a Slurm step that gave it no MPI wiring (`srun` without `--mpi=pmix`).
    case unwiredSlurmStep(tasks: Int)

    /// Open MPI's `mpirun` sets `OMPI_COMM_WORLD_SIZE`; PMIx launchers (including `srun --mpi=pmix`)
    /// set `PMIX_RANK`; PMI-1/2 launchers set `PMI_RANK`.
    public init(environment: [String: String]) {
        if ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"].contains(where: { environment[$0] != nil }) {
            self = .mpi
        } else if environment["SLURM_STEP_ID"] != nil,
                  let tasks = environment["SLURM_STEP_NUM_TASKS"].flatMap({ Int($0) }), tasks > 1 {
            self = .unwiredSlurmStep(tasks: tasks)
        } else {
            self = .single
        }
    }
}

/// The ranks of a job and their collectives: every rank calls each collective in the same order.
/// `MPICommunicator` is the job's MPI world; `InProcessGroup` gives threads of one process the same
/// calls, so multi-rank behaviour is tested inside `swift test` too.
public protocol Communicator: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// Sums `buffer` element-wise over all ranks, in place; every rank gets the sum.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(MPIError)
    /// Sums `buffer` element-wise over all ranks, in place (f64).
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(MPIError)
    /// The maximum of `value` over all ranks.
    func allReduceMax(_ value: Double) throws(MPIError) -> Double
    /// Copies `root`'s bytes into every rank's `buffer` (same size on every rank).
    func broadcastBytes(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(MPIError)
    /// Gathers every rank's bytes (each of any length) at `root`: on `root` one array per rank in
    /// rank order, elsewhere nil.
    func gatherBytes(_ bytes: UnsafeRawBufferPointer, root: Int) throws(MPIError) -> [[UInt8]]?
    /// Waits until every rank arrives.
    func barrier() throws(MPIError)
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// Sums `values` element-wise over all ranks, in place.
    public func allReduceSum(_ values: inout [Float]) throws(MPIError) {
        try values.withUnsafeMutableBufferPointer { (b) throws(MPIError) in try allReduceSum(b) }
    }

    /// Sums `values` element-wise over all ranks, in place (f64).
    public func allReduceSum(_ values: inout [Double]) throws(MPIError) {
        try values.withUnsafeMutableBufferPointer { (b) throws(MPIError) in try allReduceSum(b) }
    }

    /// Copies `root`'s `values` to every rank; the other ranks' arrays are replaced (their
    /// length may differ from the root's).
    public func broadcast<T: BitwiseCopyable>(_ values: inout [T], root: Int = 0) throws(MPIError) {
        var count = [Int64(values.count)]
        try count.withUnsafeMutableBufferPointer { (b) throws(MPIError) in
            try broadcastBytes(UnsafeMutableRawBufferPointer(b), root: root)
        }
        if rank != root {
            values = [T](unsafeUninitializedCapacity: Int(count[0])) { _, initialized in initialized = Int(count[0]) }
        }
        try values.withUnsafeMutableBufferPointer { (b) throws(MPIError) in
            try broadcastBytes(UnsafeMutableRawBufferPointer(b), root: root)
        }
    }

    /// Gathers every rank's `values` (each of any length) at `root`.
    /// - Returns: on `root`, one array per rank in rank order; elsewhere nil.
    public func gather<T: BitwiseCopyable>(_ values: [T], root: Int = 0) throws(MPIError) -> [[T]]? {
        var parts: [[UInt8]]?
        var failure: MPIError?
        values.withUnsafeBytes { bytes in
            do throws(MPIError) { parts = try gatherBytes(bytes, root: root) } catch { failure = error }
        }
        if let failure { throw failure }
        return parts?.map { part in
            let n = part.count / MemoryLayout<T>.stride
            return [T](unsafeUninitializedCapacity: n) { out, initialized in
                part.withUnsafeBytes { UnsafeMutableRawBufferPointer(out).copyMemory(from: $0) }
                initialized = n
            }
        }
    }
}

/// The world of this job: every MPI process when started by an MPI launcher, or this process
/// alone otherwise.
///
/// A plain process does not initialise MPI at all: Open MPI's singleton mode would fork a daemon
/// that inherits every open descriptor (pipes to a parent, open files) and costs a third of a
/// second. MPI can be initialised once per process and never again after finalising, so there is
/// one shared instance. Calls must come from one thread at a time.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Whether MPI was initialised (false for a plain single process).
    public let usesMPI: Bool
    private var finalized = false

    private init(rank: Int, size: Int, usesMPI: Bool) {
        self.rank = rank
        self.size = size
        self.usesMPI = usesMPI
    }

    nonisolated(unsafe) private static var shared: MPICommunicator?
    private static let lock = NSLock()

    /// The world communicator, initialising MPI on first use when an MPI launcher started us.
    /// - Throws: `MPIError.initializationFailed`, or `worldSizeMismatch` when the launcher's task
    ///   count and MPI's world size disagree (or Slurm started several tasks without MPI wiring).
    public static func world() throws(MPIError) -> MPICommunicator {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return shared }
        let environment = currentEnvironment()
        switch LaunchKind(environment: environment) {
        case .single:
            let world = MPICommunicator(rank: 0, size: 1, usesMPI: false)
            shared = world
            return world
        case let .unwiredSlurmStep(tasks):
            throw .worldSizeMismatch(launcher: "srun", expected: tasks, found: 1)
        case .mpi:
            break
        }
        var provided: Int32 = 0
        let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided)
        guard code == shim_MPI_SUCCESS() else { throw .initializationFailed(code: code) }
        MPI_Comm_set_errhandler(shim_MPI_COMM_WORLD(), shim_MPI_ERRORS_RETURN())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(shim_MPI_COMM_WORLD(), &r)
        MPI_Comm_size(shim_MPI_COMM_WORLD(), &s)
        let world = MPICommunicator(rank: Int(r), size: Int(s), usesMPI: true)
        shared = world
        if let (launcher, expected) = launcherTaskCount(environment: environment), expected != world.size {
            throw .worldSizeMismatch(launcher: launcher, expected: expected, found: world.size)
        }
        return world
    }

    /// The task count a launcher announced in the environment, if any: Open MPI's `mpirun` sets
    /// `OMPI_COMM_WORLD_SIZE`; a Slurm step sets `SLURM_STEP_NUM_TASKS`; MPICH's and Intel MPI's
    /// `mpiexec` (Hydra) set `PMI_SIZE`.
    static func launcherTaskCount(environment: [String: String]) -> (String, Int)? {
        if let n = environment["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }) { return ("mpirun", n) }
        if environment["SLURM_STEP_ID"] != nil, let n = environment["SLURM_STEP_NUM_TASKS"].flatMap({ Int($0) }) {
            return ("srun", n)
        }
        if let n = environment["PMI_SIZE"].flatMap({ Int($0) }) { return ("mpiexec", n) }
        return nil
    }

    /// The MPI library's version string, e.g. `Open MPI v4.1.4` or `MPICH Version: 4.0.2`.
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        let line = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Open MPI's is one line of comma-separated details, MPICH's many lines of `key:\tvalue`.
        let first = line.split(whereSeparator: \.isNewline).first.map(String.init) ?? line
        let name = first.split(separator: ",").first.map(String.init) ?? first
        return name.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    // MARK: - Collectives

    /// Sums `buffer` element-wise over all ranks, in place; every rank gets the sum.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(MPIError) {
        try allReduce(buffer, type: shim_MPI_FLOAT(), op: shim_MPI_SUM())
    }

    /// Sums `buffer` element-wise over all ranks, in place (f64).
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(MPIError) {
        try allReduce(buffer, type: shim_MPI_DOUBLE(), op: shim_MPI_SUM())
    }

    /// The maximum of `value` over all ranks.
    public func allReduceMax(_ value: Double) throws(MPIError) -> Double {
        var v = [value]
        try v.withUnsafeMutableBufferPointer { (b) throws(MPIError) in
            try allReduce(b, type: shim_MPI_DOUBLE(), op: shim_MPI_MAX())
        }
        return v[0]
    }

    private func allReduce<T>(_ buffer: UnsafeMutableBufferPointer<T>, type: MPI_Datatype, op: MPI_Op) throws(MPIError) {
        guard usesMPI, buffer.count > 0 else { return }
        guard buffer.count <= Int(Int32.max) else {
            throw .bufferTooLarge(function: "MPI_Allreduce", bytes: buffer.count * MemoryLayout<T>.stride)
        }
        try check(MPI_Allreduce(shim_MPI_IN_PLACE(), buffer.baseAddress, Int32(buffer.count), type, op,
                                shim_MPI_COMM_WORLD()), "MPI_Allreduce")
    }

    /// Copies `root`'s bytes into every rank's `buffer` (same size on every rank).
    public func broadcastBytes(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(MPIError) {
        guard usesMPI, buffer.count > 0 else { return }
        guard buffer.count <= Int(Int32.max) else {
            throw .bufferTooLarge(function: "MPI_Bcast", bytes: buffer.count)
        }
        try check(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), shim_MPI_BYTE(), Int32(root),
                            shim_MPI_COMM_WORLD()), "MPI_Bcast")
    }

    /// Gathers every rank's bytes (each of any length) at `root`.
    /// - Returns: on `root`, one array per rank in rank order; elsewhere nil.
    public func gatherBytes(_ bytes: UnsafeRawBufferPointer, root: Int) throws(MPIError) -> [[UInt8]]? {
        guard usesMPI else { return [Array(bytes)] }
        var myCount = [Int64(bytes.count)]
        var counts = [Int64](repeating: 0, count: rank == root ? size : 1)
        try check(MPI_Gather(&myCount, 1, shim_MPI_INT64_T(), &counts, 1, shim_MPI_INT64_T(), Int32(root),
                             shim_MPI_COMM_WORLD()), "MPI_Gather")
        let totalBytes = rank == root ? Int(counts.reduce(0, +)) : 0
        guard totalBytes <= Int(Int32.max), bytes.count <= Int(Int32.max) else {
            throw .bufferTooLarge(function: "MPI_Gatherv", bytes: Swift.max(totalBytes, bytes.count))
        }
        var byteCounts = [Int32](repeating: 0, count: rank == root ? size : 1)
        var displacements = byteCounts
        if rank == root {
            var offset = 0
            for i in 0..<size {
                byteCounts[i] = Int32(counts[i])
                displacements[i] = Int32(offset)
                offset += Int(byteCounts[i])
            }
        }
        var received = [UInt8](repeating: 0, count: Swift.max(totalBytes, 1))
        try check(MPI_Gatherv(bytes.baseAddress, Int32(bytes.count), shim_MPI_BYTE(), &received, byteCounts, displacements,
                              shim_MPI_BYTE(), Int32(root), shim_MPI_COMM_WORLD()), "MPI_Gatherv")
        guard rank == root else { return nil }
        return (0..<size).map { i in Array(received[Int(displacements[i])..<(Int(displacements[i]) + Int(byteCounts[i]))]) }
    }

    /// Waits until every rank arrives.
    public func barrier() throws(MPIError) {
        guard usesMPI else { return }
        try check(MPI_Barrier(shim_MPI_COMM_WORLD()), "MPI_Barrier")
    }

    /// Ends every rank of the job with `code` (for a failure one rank cannot recover from alone).
    public func abort(code: Int32) -> Never {
        if usesMPI { MPI_Abort(shim_MPI_COMM_WORLD(), code) }
        exit(code)
    }

    /// Shuts MPI down; call once, at the end of the program.
    public func finalize() {
        MPICommunicator.lock.lock()
        defer { MPICommunicator.lock.unlock() }
        if usesMPI && !finalized { MPI_Finalize(); finalized = true }
    }

    private func check(_ code: Int32, _ function: String) throws(MPIError) {
        guard code != shim_MPI_SUCCESS() else { return }
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        let message = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw .callFailed(function: function, message: message)
    }
}

/// The process environment as a dictionary.
func currentEnvironment() -> [String: String] { ProcessInfo.processInfo.environment }
