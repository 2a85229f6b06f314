import Foundation

/// What the model's scores are: probabilities, or logits that are turned into probabilities
/// (sigmoid for binary, softmax for multi-class) before loss, calibration and thresholding.
public enum ScoreKind: String, Sendable, CaseIterable {
    /// Values in [0, 1]; multi-class rows sum to 1.
    case probabilities
    /// Any finite numbers.
    case logits
}

/// Invalid input to the evaluator; the message names the sample and what was expected.
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    case lengthMismatch(what: String, expected: Int, found: Int)
    case nonFiniteScore(sample: Int, column: Int)
    case probabilityOutOfRange(sample: Int, column: Int, value: Double)
    case probabilitiesDoNotSumToOne(sample: Int, sum: Double)
    case labelOutOfRange(sample: Int, label: Int, classCount: Int)
    case groupCodeOutOfRange(attribute: String, sample: Int, code: Int, groupCount: Int)
    case tooFewClasses(Int)
    case duplicateAttribute(String)
    case unknownAttribute(String, known: [String])
    case attributeRequired(objective: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .lengthMismatch(what, expected, found):
            return "\(what) has \(found) values; expected \(expected) (one per sample)"
        case let .nonFiniteScore(sample, column):
            return "sample \(sample): score \(column) is not a finite number"
        case let .probabilityOutOfRange(sample, column, value):
            return "sample \(sample): probability \(column) is \(value); expected a value in [0, 1] (use logits for raw scores)"
        case let .probabilitiesDoNotSumToOne(sample, sum):
            return "sample \(sample): class probabilities sum to \(sum); expected 1 (use logits for raw scores)"
        case let .labelOutOfRange(sample, label, classCount):
            return "sample \(sample): label \(label) is not one of 0...\(classCount - 1)"
        case let .groupCodeOutOfRange(attribute, sample, code, groupCount):
            return "attribute '\(attribute)', sample \(sample): group code \(code) is not -1 (unknown) or one of 0...\(groupCount - 1)"
        case let .tooFewClasses(k):
            return "\(k) class(es); classification metrics need at least 2"
        case let .duplicateAttribute(name):
            return "sensitive attribute '\(name)' given twice"
        case let .unknownAttribute(name, known):
            return "no sensitive attribute '\(name)' (have: \(known.joined(separator: ", ")))"
        case let .attributeRequired(objective):
            return "objective '\(objective)' compares groups; name the sensitive attribute"
        case let .invalidOption(text):
            return text
        }
    }
}

/// A model's predictions on a whole split, with the true labels.
///
/// Binary: one score per sample, the score of class 1 (shape [n]). Multi-class: one score per
/// class, row-major (shape [n, K]). Labels are class indices 0..<K.
public struct Predictions: Sendable {
    /// n.
    public let sampleCount: Int
    /// K; 2 for binary.
    public let classCount: Int
    /// The scores as given: [n] for binary, [n, K] row-major for multi-class. Binary AUC ranks
    /// these directly (a logit ranks like its probability without saturating at 1).
    public let scores: [Double]
    /// What `scores` are.
    public let kind: ScoreKind
    /// Probabilities: [n] (class 1) for binary, [n, K] for multi-class.
    public let probabilities: [Double]
    /// [n] class indices.
    public let labels: [Int32]

    /// Whether there are two classes (one score per sample).
    public var isBinary: Bool { classCount == 2 }

    /// Binary predictions: `scores[i]` is the probability or logit of class 1; labels are 0 or 1.
    public static func binary(scores: [Double], kind: ScoreKind, labels: [Int]) throws(MetricsError) -> Predictions {
        try Predictions(scores: scores, classCount: 2, columns: 1, kind: kind, labels: labels)
    }

    /// Multi-class predictions: `scores` is [n, classCount] row-major; labels are 0..<classCount.
    /// With `classCount == 2` this is binary and uses column 1 as the score.
    public static func multiClass(scores: [Double], classCount: Int, kind: ScoreKind, labels: [Int]) throws(MetricsError) -> Predictions {
        guard classCount >= 2 else { throw .tooFewClasses(classCount) }
        if classCount == 2 {
            guard scores.count == 2 * labels.count else {
                throw .lengthMismatch(what: "scores", expected: 2 * labels.count, found: scores.count)
            }
            // Two columns of probabilities or logits: class 1's probability is p1 (or the logit difference).
            var column1 = [Double](repeating: 0, count: labels.count)
            for i in 0..<labels.count {
                column1[i] = kind == .logits ? scores[2 * i + 1] - scores[2 * i] : scores[2 * i + 1]
            }
            for i in 0..<labels.count where kind == .probabilities {
                let sum = scores[2 * i] + scores[2 * i + 1]
                guard abs(sum - 1) <= 1e-6 else { throw .probabilitiesDoNotSumToOne(sample: i, sum: sum) }
            }
            return try .binary(scores: column1, kind: kind, labels: labels)
        }
        return try Predictions(scores: scores, classCount: classCount, columns: classCount, kind: kind, labels: labels)
    }

    /// Scores as a table of `columns` columns ([n, columns] row-major): one column is binary
    /// (class 1's score), K >= 2 columns are the K classes' scores.
    public static func scores(_ scores: [Double], columns: Int, kind: ScoreKind, labels: [Int]) throws(MetricsError) -> Predictions {
        columns == 1 ? try .binary(scores: scores, kind: kind, labels: labels)
            : try .multiClass(scores: scores, classCount: columns, kind: kind, labels: labels)
    }

    private init(scores: [Double], classCount: Int, columns: Int, kind: ScoreKind, labels: [Int]) throws(MetricsError) {
        let n = labels.count
        guard scores.count == n * columns else {
            throw .lengthMismatch(what: "scores", expected: n * columns, found: scores.count)
        }
        for (i, label) in labels.enumerated() where label < 0 || label >= classCount {
            throw .labelOutOfRange(sample: i, label: label, classCount: classCount)
        }
        for (j, s) in scores.enumerated() where !s.isFinite {
            throw .nonFiniteScore(sample: j / columns, column: j % columns)
        }
        var probabilities = scores
        switch (kind, columns) {
        case (.probabilities, _):
            for (j, p) in scores.enumerated() where p < 0 || p > 1 {
                throw .probabilityOutOfRange(sample: j / columns, column: j % columns, value: p)
            }
            if columns > 1 {
                for i in 0..<n {
                    var sum = 0.0
                    for c in 0..<columns { sum += scores[i * columns + c] }
                    // scikit-learn refuses multi-class AUC and log loss on rows that are not distributions.
                    guard abs(sum - 1) <= 1e-6 else { throw .probabilitiesDoNotSumToOne(sample: i, sum: sum) }
                }
            }
        case (.logits, 1):
            for i in 0..<n { probabilities[i] = 1 / (1 + Foundation.exp(-scores[i])) }
        case (.logits, _):
            for i in 0..<n {
                var top = -Double.infinity
                for c in 0..<columns { top = Swift.max(top, scores[i * columns + c]) }
                var sum = 0.0
                for c in 0..<columns {
                    let e = Foundation.exp(scores[i * columns + c] - top)
                    probabilities[i * columns + c] = e
                    sum += e
                }
                for c in 0..<columns { probabilities[i * columns + c] /= sum }
            }
        }
        self.sampleCount = n
        self.classCount = classCount
        self.scores = scores
        self.kind = kind
        self.probabilities = probabilities
        self.labels = labels.map { Int32($0) }
    }
}

/// One sensitive attribute on every sample: group names and each sample's group code
/// (0..<groupNames.count, or -1 for "unknown": counted overall, in no group).
public struct SensitiveAttribute: Sendable {
    /// Shown in reports and used to ask for group objectives (`sex`).
    public let name: String
    /// Group g's name is `groupNames[g]`.
    public let groupNames: [String]
    /// [n] group codes.
    public let codes: [Int32]

    /// Checks that every code is -1 or names a group.
    public init(name: String, groupNames: [String], codes: [Int]) throws(MetricsError) {
        for (i, code) in codes.enumerated() where code < -1 || code >= groupNames.count {
            throw .groupCodeOutOfRange(attribute: name, sample: i, code: code, groupCount: groupNames.count)
        }
        self.name = name
        self.groupNames = groupNames
        self.codes = codes.map { Int32($0) }
    }
}

/// Settings of an evaluation.
public struct EvaluationOptions: Sendable {
    /// Binary only: a sample is predicted positive when its class-1 probability is >= threshold.
    /// Multi-class predictions are the arg-max class.
    public var threshold: Double
    /// Equal-width confidence bins of the expected calibration error.
    public var calibrationBins: Int

    /// Defaults: threshold 0.5, 15 bins (as the FairTune reference's ECE).
    public init(threshold: Double = 0.5, calibrationBins: Int = 15) {
        self.threshold = threshold
        self.calibrationBins = calibrationBins
    }
}

extension SensitiveAttribute {
    /// The attribute on the samples at `indices` (in that order), with the same groups.
    public func rows(_ indices: some Sequence<Int>) -> SensitiveAttribute {
        SensitiveAttribute(name: name, groupNames: groupNames, validCodes: indices.map { codes[$0] })
    }

    private init(name: String, groupNames: [String], validCodes: [Int32]) {
        self.name = name
        self.groupNames = groupNames
        self.codes = validCodes
    }
}
