/// A value with an interval around it (e.g. a mean over seeds and a bootstrap interval).
public struct IntervalPoint: Sendable, Equatable {
    public var value: Double
    public var lower: Double
    public var upper: Double

    public init(value: Double, lower: Double, upper: Double) {
        self.value = value
        self.lower = lower
        self.upper = upper
    }
}

/// Points with interval whiskers per category (x) for several series side by side (e.g. per-group
/// test AUC for each method).
///
/// Each point is a `circle` with `data-series`, `data-category`, `data-value`, `data-lower` and
/// `data-upper`; a missing point is left out and noted under the axis.
public struct IntervalChart: Sendable {
    public var title: String
    public var categoryLabel: String
    public var valueLabel: String
    public var categories: [String]
    /// Series name and its point per category (nil: not available).
    public var series: [(name: String, points: [IntervalPoint?])]
    public var width = 640.0
    public var height = 420.0

    public init(title: String, categoryLabel: String, valueLabel: String, categories: [String],
                series: [(name: String, points: [IntervalPoint?])]) {
        self.title = title
        self.categoryLabel = categoryLabel
        self.valueLabel = valueLabel
        self.categories = categories
        self.series = series
    }

    /// The standalone SVG file.
    public func svg() -> String {
        let all = series.flatMap { $0.points.compactMap { $0 } }
        let yAxis = Axis(covering: all.flatMap { [$0.value, $0.lower, $0.upper] })
        let frame = Frame(canvasWidth: width, canvasHeight: height)
        var svg = SVGDocument(width: width, height: height)
        frame.draw(into: &svg, title: title, xLabel: categoryLabel, yLabel: valueLabel, x: nil, y: yAxis)
        let slot = frame.width / Double(max(categories.count, 1))
        for (c, name) in categories.enumerated() {
            svg.text(name, x: frame.left + (Double(c) + 0.5) * slot, y: frame.top + frame.height + 16, size: 11)
        }
        let offset = slot * 0.6 / Double(max(series.count, 1))
        for (s, entry) in series.enumerated() {
            let color = seriesColors[s % seriesColors.count]
            for (c, point) in entry.points.enumerated() where c < categories.count {
                guard let point else { continue }
                let x = frame.left + (Double(c) + 0.2) * slot + (Double(s) + 0.5) * offset
                let yLow = frame.y(yAxis.fraction(point.lower)), yHigh = frame.y(yAxis.fraction(point.upper))
                svg.line(x1: x, y1: yLow, x2: x, y2: yHigh, stroke: color, width: 2)
                svg.line(x1: x - 5, y1: yLow, x2: x + 5, y2: yLow, stroke: color, width: 2)
                svg.line(x1: x - 5, y1: yHigh, x2: x + 5, y2: yHigh, stroke: color, width: 2)
                svg.circle(x: x, y: frame.y(yAxis.fraction(point.value)), radius: 4.5, fill: color, stroke: "#000000",
                           data: [("series", entry.name), ("category", categories[c]), ("value", plotValue(point.value)),
                                  ("lower", plotValue(point.lower)), ("upper", plotValue(point.upper))])
            }
        }
        if all.isEmpty {
            svg.text("no data", x: frame.left + frame.width / 2, y: frame.top + frame.height / 2, size: 14, fill: "#888888")
        }
        frame.legend(into: &svg, entries: series.enumerated().map { i, s in
            (name: s.name, color: seriesColors[i % seriesColors.count], line: false)
        })
        return svg.rendered()
    }
}
