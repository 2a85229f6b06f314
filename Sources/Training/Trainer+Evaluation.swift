import Dataset
import DistributedEvaluation
import Foundation
import Metrics

/// Evaluation of a whole split over every rank, and its predictions file.
extension Trainer {
    /// One split's predictions gathered at rank 0.
    struct Evaluation {
        /// Row-major probabilities: one column (class 1) for two classes, K otherwise.
        var scores: [Double]
        var sampleIndices: [Int]
    }

    /// Evaluates `split` over all ranks. Collective.
    /// - Returns: the report and the gathered predictions on rank 0, nil elsewhere.
    func evaluate(_ split: DatasetSplit) throws -> (report: MetricsReport, evaluation: Evaluation)? {
        let loader = evalLoader(split)
        let plan = loader.evaluationPlan(rank: world.rank, rankCount: world.size)
        let k = model.config.classes, columns = k == 2 ? 1 : k
        var logits: [Double] = [], labels: [Int] = [], indices: [Int] = []
        var codes = [[Int]](repeating: [], count: attributeIndices.count)
        let stream = loader.batches(plan)
        while let batch = try stream.next() {
            let n = batch.validCount
            guard n > 0 else { continue }
            let z = model.forward(images: batch.images.baseAddress!, batch: n, keepActivations: false)
            for row in 0..<n {
                // Two classes: the logit of class 1 against class 0, whose sigmoid is softmax's P(class 1).
                if columns == 1 {
                    logits.append(Double(z[row * k + 1]) - Double(z[row * k]))
                } else {
                    for j in 0..<k { logits.append(Double(z[row * k + j])) }
                }
                labels.append(batch.labels[row])
                indices.append(batch.sampleIndices[row])
                for (a, index) in attributeIndices.enumerated() { codes[a].append(batch.groups(attribute: index)[row]) }
            }
        }
        let attributes = try attributeIndices.enumerated().map { (a, index) in
            try SensitiveAttribute(name: settings.attributes[a], groupNames: dataset.manifest.attributes[index].groups, codes: codes[a])
        }
        // One gather of the logits, labels and groups, one of the sample indices (for the CSV).
        let gatheredIndices = try world.gather(indices, root: 0)
        guard let all = try DistributedMetrics.gather(.init(scores: logits, labels: labels, attributes: attributes), on: world),
              let gatheredIndices else { return nil }
        let predictions = try Predictions.scores(all.scores, columns: columns, kind: .logits, labels: all.labels)
        let report = try MetricsEvaluator(predictions: predictions, attributes: all.attributes).evaluate()
        return (report, Evaluation(scores: predictions.probabilities, sampleIndices: gatheredIndices.flatMap { $0 }))
    }

    /// predictions-<split>.csv (rank 0).
    func writePredictions(_ evaluation: Evaluation, split: DatasetSplit) throws {
        guard world.isRoot else { return }
        let attributes = attributeIndices.enumerated().map { (a, index) in
            (name: settings.attributes[a], index: index, groups: dataset.manifest.attributes[index].groups)
        }
        let csv = RunFiles.predictionsCSV(split: split, sampleIndices: evaluation.sampleIndices, scores: evaluation.scores,
                                          classCount: model.config.classes, attributes: attributes)
        try RunFiles.write(csv, to: files.predictions(split.name))
    }
}
