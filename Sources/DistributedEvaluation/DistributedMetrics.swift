import Distributed
import Metrics

/// Evaluation of a split whose predictions are spread over MPI ranks, used by `fairtune metrics`
/// and by training. Lives here so that `Metrics` stays free of MPI: the ranks' shares are gathered at rank 0, in rank order, and
/// evaluated there exactly as one process would evaluate the concatenated split.
public enum DistributedMetrics {
    /// One rank's share of a split.
    public struct Share: Sendable {
        /// [rows, columns] row-major: one column (class 1's score) for binary, K for multi-class.
        public var scores: [Double]
        public var labels: [Int]
        /// Group codes of this rank's rows; group names must be the same on every rank.
        public var attributes: [SensitiveAttribute]

        /// A share of the given rows.
        public init(scores: [Double], labels: [Int], attributes: [SensitiveAttribute]) {
            self.scores = scores
            self.labels = labels
            self.attributes = attributes
        }
    }

    /// Gathers every rank's share at rank 0. Collective: every rank must call it.
    /// - Returns: the concatenation in rank order on rank 0, nil on the other ranks.
    public static func gather(_ share: Share, on communicator: Communicator) throws -> Share? {
        let scores = try communicator.gather(share.scores, root: 0)
        let labels = try communicator.gather(share.labels, root: 0)
        var codes: [[[Int32]]] = []
        for a in share.attributes {
            if let parts = try communicator.gather(a.codes, root: 0) { codes.append(parts) }
        }
        guard let scores, let labels else { return nil }
        let attributes = try share.attributes.enumerated().map { (a, attribute) in
            try SensitiveAttribute(name: attribute.name, groupNames: attribute.groupNames,
                                   codes: codes[a].flatMap { $0 }.map { Int($0) })
        }
        return Share(scores: scores.flatMap { $0 }, labels: labels.flatMap { $0 }, attributes: attributes)
    }

    /// Gathers the split at rank 0 and evaluates it there (and bootstraps it if `bootstrap` is set);
    /// `scoreColumns` as in `Predictions.scores(_:columns:kind:labels:)`. Collective.
    /// - Returns: the report (and intervals) on rank 0, nil elsewhere.
    public static func evaluate(_ share: Share, scoreColumns: Int, kind: ScoreKind, options: EvaluationOptions,
                         bootstrap: BootstrapOptions?, on communicator: Communicator) throws
        -> (MetricsReport, [BootstrapInterval]?)? {
        guard let all = try gather(share, on: communicator) else { return nil }
        let predictions = try Predictions.scores(all.scores, columns: scoreColumns, kind: kind, labels: all.labels)
        let evaluator = try MetricsEvaluator(predictions: predictions, attributes: all.attributes, options: options)
        return (evaluator.evaluate(), try bootstrap.map { try evaluator.bootstrap($0) })
    }
}
