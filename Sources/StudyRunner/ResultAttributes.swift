import JSON
import Metrics
import Training

extension Coordinator {
    /// The user attrs a report needs without opening the run directory (`StudyAttributeKey`).
    func resultAttributes(_ outcome: Trainer.Outcome, number: Int, assignment: TrialAssignment, runDirectory: String,
                          epochs: Int) -> [(key: String, value: JSONValue)] {
        typealias K = StudyAttributeKey
        var attributes: [(key: String, value: JSONValue)] = [(K.runDirectory, .string(Self.runDirectory(number)))]
        if let mask = assignment.mask { attributes.append((K.mask, .string(mask))) }
        attributes.append((K.learningRate, .number(Double(assignment.learningRate) ?? .nan)))
        if let m = assignment.headMultiplier { attributes.append((K.headMultiplier, .number(Double(m) ?? .nan))) }
        // result.json counts every session of a resumed run.
        if let result = try? RunFiles.readObject(RunFiles(directory: runDirectory).result) {
            if let n = result["trainable_parameters"] { attributes.append((K.trainableParameters, n)) }
            if let p = result["trainable_percent"] { attributes.append((K.trainablePercent, p)) }
            if let s = result["timings"]?["train_seconds"] { attributes.append((K.trainSeconds, s)) }
        }
        switch outcome.ending {
        case .completed: attributes.append((K.epochsTrained, .number(Double(epochs))))
        case let .pruned(epoch): attributes.append((K.epochsTrained, .number(Double(epoch))))
        default: break
        }
        if let report = outcome.validation { attributes += validationAttributes(report) }
        return attributes
    }

    private func validationAttributes(_ report: MetricsReport) -> [(key: String, value: JSONValue)] {
        typealias K = StudyAttributeKey
        func number(_ value: MetricValue) -> JSONValue { value.doubleValue.map { .number($0) } ?? .null }
        let groupAUC = JSONValue.object(report.attributes.map { a in (a.name, .object(a.groups.map { ($0.name, number($0.auc)) })) })
        let groupAccuracy = JSONValue.object(report.attributes.map { a in (a.name, .object(a.groups.map { ($0.name, number($0.accuracy)) })) })
        let gap = JSONValue.object(report.attributes.map { ($0.name, number($0.summary(.auc).gap)) })
        return [(K.validationAUC, number(report.overall.auc)), (K.validationAccuracy, number(report.overall.accuracy)),
                (K.validationGroupAUC, groupAUC), (K.validationGroupAccuracy, groupAccuracy), (K.validationAUCGap, gap)]
    }
}
