import Foundation
import Metrics

/// A predictions CSV read into the evaluator's inputs: scores, labels and group codes per row.
struct PredictionsTable {
    let path: String
    let scoreColumns: [String]
    let labelColumn: String
    /// 2 for one score column (class 1's score); K for K score columns.
    let classCount: Int
    /// [rows, scoreColumns.count] row-major.
    let scores: [Double]
    let labels: [Int]
    let attributes: [SensitiveAttribute]
    /// File line of each row, to name rows in errors found after reading.
    let lines: [Int]

    /// Reads the named columns. A group value of -1 means unknown; the other values become the
    /// groups, sorted numerically if all are numbers, else as text.
    init(csv: CSVTable, labelColumn: String, scoreColumns: [String], groupColumns: [String]) throws(CSVError) {
        path = csv.path
        self.scoreColumns = scoreColumns
        self.labelColumn = labelColumn
        classCount = scoreColumns.count == 1 ? 2 : scoreColumns.count
        lines = csv.lines
        let n = csv.rows.count
        let columns = try scoreColumns.map { (name) throws(CSVError) in try csv.numbers(name) }
        var scores = [Double](repeating: 0, count: n * columns.count)
        for (c, values) in columns.enumerated() {
            for r in 0..<n { scores[r * columns.count + c] = values[r] }
        }
        self.scores = scores
        let labelIndex = try csv.column(labelColumn)
        var labels = [Int](repeating: 0, count: n)
        let expected = classCount == 2 ? "a class label 0 or 1" : "a class label in 0...\(classCount - 1)"
        for r in 0..<n {
            let text = csv.rows[r][labelIndex].trimmingCharacters(in: .whitespaces)
            guard let v = Double(text), v == v.rounded(), v >= 0, v < Double(classCount) else {
                throw .invalidValue(path: path, line: csv.lines[r], column: labelColumn, value: csv.rows[r][labelIndex], expected: expected)
            }
            labels[r] = Int(v)
        }
        self.labels = labels
        var attributes: [SensitiveAttribute] = []
        for name in groupColumns {
            let c = try csv.column(name)
            let values = csv.rows.map { $0[c].trimmingCharacters(in: .whitespaces) }
            if let r = values.firstIndex(of: "") {
                throw .invalidValue(path: path, line: csv.lines[r], column: name, value: "",
                                    expected: "a group (use -1 for an unknown group)")
            }
            let names = PredictionsTable.groupOrder(Set(values).subtracting(["-1"]))
            let code = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
            // Codes are in range by construction; the initializer cannot throw here.
            guard let attribute = try? SensitiveAttribute(name: name, groupNames: names, codes: values.map { code[$0] ?? -1 }) else {
                preconditionFailure("group codes built from the column's own values")
            }
            attributes.append(attribute)
        }
        self.attributes = attributes
    }

    private init(path: String, scoreColumns: [String], labelColumn: String, classCount: Int, scores: [Double],
                 labels: [Int], attributes: [SensitiveAttribute], lines: [Int]) {
        self.path = path; self.scoreColumns = scoreColumns; self.labelColumn = labelColumn; self.classCount = classCount
        self.scores = scores; self.labels = labels; self.attributes = attributes; self.lines = lines
    }

    /// Numbers in numeric order when every value is one (so "10" follows "9"), otherwise text order.
    static func groupOrder(_ values: Set<String>) -> [String] {
        let numbers = values.compactMap { v in Double(v).map { (v, $0) } }
        if numbers.count == values.count { return numbers.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0) }
        return values.sorted()
    }

    /// The same table with these rows only (keeping group names), e.g. one MPI rank's share.
    func rows(_ range: Range<Int>) -> PredictionsTable {
        let columns = scoreColumns.count
        let attributes = self.attributes.map { $0.rows(range) }
        return PredictionsTable(path: path, scoreColumns: scoreColumns, labelColumn: labelColumn, classCount: classCount,
                                scores: Array(scores[(range.lowerBound * columns)..<(range.upperBound * columns)]),
                                labels: Array(labels[range]), attributes: attributes, lines: Array(lines[range]))
    }

    /// The table as `Predictions`; value errors name the file's line and column.
    func predictions(kind: ScoreKind) throws -> Predictions {
        do {
            return try Predictions.scores(scores, columns: scoreColumns.count, kind: kind, labels: labels)
        } catch let error {
            switch error {
            case let .probabilityOutOfRange(sample, column, value):
                throw CSVError.invalidValue(path: path, line: lines[sample], column: scoreColumns[column], value: "\(value)",
                                            expected: "a probability in [0, 1] (use --scores logits for raw scores)")
            case let .probabilitiesDoNotSumToOne(sample, sum):
                throw CSVError.invalidValue(path: path, line: lines[sample], column: scoreColumns.joined(separator: "+"),
                                            value: "sum \(sum)", expected: "1 (use --scores logits for raw scores)")
            default:
                throw error
            }
        }
    }

    /// The evaluator of these predictions.
    func evaluator(kind: ScoreKind, options: EvaluationOptions) throws -> MetricsEvaluator {
        try MetricsEvaluator(predictions: predictions(kind: kind), attributes: attributes, options: options)
    }
}
