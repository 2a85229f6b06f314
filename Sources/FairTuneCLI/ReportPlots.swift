import Foundation
import JSON
import Plot
import Search
import ViT

/// The report's SVG plots, from the trial rows and the stage-2 summary.
enum ReportPlots {
    /// Objective of every COMPLETE trial by number, with the best so far.
    static func history(_ rows: [TrialRow], setup: StudySetup) -> String {
        let complete = rows.filter { $0.state == "COMPLETE" && $0.values?.first.map { !$0.isNaN } == true }
        let points = complete.map { (x: Double($0.number), y: $0.values![0]) }
        let maximize = setup.directions.first != .minimize
        var best: Double?
        let bestSoFar = points.map { p -> (x: Double, y: Double) in
            best = best.map { maximize ? max($0, p.y) : min($0, p.y) } ?? p.y
            return (x: p.x, y: best!)
        }
        let objective = setup.objectives.first ?? "objective"
        return XYPlot(title: "Optimisation history: \(objective) (\(maximize ? "higher" : "lower") is better)",
                      xLabel: "trial number", yLabel: "val \(objective)",
                      series: [XYSeries(name: "trial", points: points, style: .markers),
                               XYSeries(name: "best so far", points: bestSoFar, style: .stepLine)]).svg()
    }

    /// The (AUC gap, overall AUC) points of trials with validation metrics that no other trial beats in both.
    static func paretoFront(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        points.filter { p in
            !points.contains { q in q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y) }
        }.sorted { ($0.x, $0.y) < ($1.x, $1.y) }
    }

    /// Val overall AUC against val AUC gap for every COMPLETE trial, the front (high AUC, small gap) highlighted.
    static func pareto(_ rows: [TrialRow], attribute: String) -> String {
        let points = rows.filter { $0.state == "COMPLETE" }.compactMap { r in
            r.aucGap.flatMap { gap in r.valAUC.map { (x: gap, y: $0) } }
        }
        return XYPlot(title: "Trials: val overall AUC against AUC gap ('\(attribute)')", xLabel: "val AUC gap (lower is fairer)",
                      yLabel: "val overall AUC",
                      series: [XYSeries(name: "trial", points: points, style: .markers),
                               XYSeries(name: "Pareto front", points: paretoFront(points), style: .markers, highlighted: true)]).svg()
    }

    /// Blocks × parts of a mask (rows = blocks); one row of bits when the method has no parts.
    static func maskGrid(_ mask: [Double], tuning: PEFTMethod?) -> (rows: [String], columns: [String], values: [[Double?]]) {
        let parts = tuning?.partNames ?? []
        guard !parts.isEmpty, mask.count % parts.count == 0 else {
            return (["mask"], mask.indices.map { "bit \($0)" }, [mask.map { Optional($0) }])
        }
        let blocks = mask.count / parts.count
        return ((0..<blocks).map { "block \($0)" }, parts,
                (0..<blocks).map { b in (0..<parts.count).map { Optional(mask[b * parts.count + $0]) } })
    }

    /// The chosen trial's mask as a blocks × parts grid.
    static func mask(_ bits: String, trial: Int, tuning: PEFTMethod?) -> String {
        let grid = maskGrid(bits.map { $0 == "1" ? 1.0 : 0.0 }, tuning: tuning)
        return GridChart(title: "Mask of trial \(trial) (\(tuning?.rawValue ?? "?")): trained parts", rowTitle: "block",
                         columnTitle: "part", rows: grid.rows, columns: grid.columns, values: grid.values,
                         cellText: { $0 >= 0.5 ? "trained" : "frozen" }).svg()
    }

    /// The best quarter (at least one) of COMPLETE trials with a mask, by the first objective.
    static func topQuarter(_ rows: [TrialRow], setup: StudySetup) -> [TrialRow] {
        let sign = setup.directions.first == .minimize ? 1.0 : -1.0
        let ranked = rows.filter { $0.state == "COMPLETE" && $0.mask != nil && $0.values?.first.map { !$0.isNaN } == true }
            .sorted { (sign * $0.values![0], $0.number) < (sign * $1.values![0], $1.number) }
        return Array(ranked.prefix(max(1, (ranked.count + 3) / 4)))
    }

    /// How often each mask bit is set among the top quarter of trials.
    static func maskFrequency(_ rows: [TrialRow], setup: StudySetup) -> String {
        let top = topQuarter(rows, setup: setup)
        let length = top.first?.mask?.count ?? 0
        let frequency = (0..<length).map { i in
            Double(top.filter { Array($0.mask!)[i] == "1" }.count) / Double(top.count)
        }
        let grid = maskGrid(frequency, tuning: setup.tuning)
        return GridChart(title: "Share of the top \(top.count) trial(s) training each part", rowTitle: "block", columnTitle: "part",
                         rows: grid.rows, columns: grid.columns, values: grid.values,
                         cellText: { "\(Int(($0 * 100).rounded()))%" }).svg()
    }

    /// Test AUC per group (and worst group, overall) per method: seed mean and bootstrap interval.
    static func groupAUC(_ summary: JSONValue) -> String {
        let groups = summary["groups"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let keys = groups.map { "auc:\($0)" } + ["worst_group_auc", "auc"]
        let series = (summary["methods"]?.arrayValue ?? []).map { method -> (name: String, points: [IntervalPoint?]) in
            let points = keys.map { key -> IntervalPoint? in
                let stat = method["metrics"]?[key]
                guard let mean = stat?["mean"]?.doubleValue, let lower = stat?["lower"]?.doubleValue,
                      let upper = stat?["upper"]?.doubleValue else { return nil }
                return IntervalPoint(value: mean, lower: lower, upper: upper)
            }
            return (name: method["name"]?.stringValue ?? "?", points: points)
        }
        let attribute = summary["attribute"]?.stringValue ?? "?"
        let confidence = Int(((summary["bootstrap"]?["confidence"]?.doubleValue ?? 0.95) * 100).rounded())
        return IntervalChart(title: "Test AUC per '\(attribute)' group: seed mean and \(confidence)% interval", categoryLabel: "group",
                             valueLabel: "test AUC", categories: groups + ["worst group", "overall"], series: series).svg()
    }
}
