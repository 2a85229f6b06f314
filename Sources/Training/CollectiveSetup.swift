import Distributed

/// A setup that failed on some rank, as this rank should report it.
public enum CollectiveSetupError: Error, CustomStringConvertible {
    /// This (non-root) rank failed; `rootFailedToo` when rank 0 failed as well and reports its own
    /// error (the same bad input fails every rank), so this one need not repeat it.
    case failedHere(rank: Int, rankCount: Int, underlying: Error, rootFailedToo: Bool)
    /// This rank set up fine but another did not.
    case failedElsewhere(isRoot: Bool)

    public var description: String {
        switch self {
        case let .failedHere(rank, rankCount, underlying, _): return "[rank \(rank)/\(rankCount)] error: \(underlying)"
        case .failedElsewhere: return "error: another rank failed to set up (its message is above)"
        }
    }

    /// What this rank prints: each failure once, by rank 0 where it can.
    public var message: String? {
        switch self {
        case let .failedHere(_, _, _, rootFailedToo): return rootFailedToo ? nil : description
        case let .failedElsewhere(isRoot): return isRoot ? description : nil
        }
    }
}

/// Runs a setup on every rank and makes the ranks agree that it succeeded everywhere before any
/// other collective call: a rank that failed alone (a file only it cannot read) must not leave the
/// others waiting in an allreduce.
///
/// - Returns: the setup's value when every rank succeeded.
/// - Throws: on rank 0 its own error as thrown; elsewhere `CollectiveSetupError`.
public func agreeOnSetup<T>(world: Communicator, _ setUp: () throws -> T) throws -> T {
    var value: T?
    var failure: Error?
    do { value = try setUp() } catch { failure = error }
    let rootFailed = try world.allReduceMax(world.isRoot && failure != nil ? 1 : 0) > 0
    let anyFailed = try world.allReduceMax(failure != nil ? 1 : 0) > 0
    if let failure {
        if world.isRoot { throw failure }
        throw CollectiveSetupError.failedHere(rank: world.rank, rankCount: world.size, underlying: failure, rootFailedToo: rootFailed)
    }
    guard let value, !anyFailed else { throw CollectiveSetupError.failedElsewhere(isRoot: world.isRoot) }
    return value
}
