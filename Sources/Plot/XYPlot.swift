/// One named set of points of an `XYPlot`.
public struct XYSeries: Sendable {
    /// How the points are drawn.
    public enum Style: Sendable { case markers, line, stepLine }
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var style: Style
    /// Larger, outlined markers (e.g. the Pareto front among all trials).
    public var highlighted: Bool

    public init(name: String, points: [(x: Double, y: Double)], style: Style, highlighted: Bool = false) {
        self.name = name
        self.points = points
        self.style = style
        self.highlighted = highlighted
    }
}

/// A line/scatter plot with linear axes, gridlines, a title, axis labels and a legend.
///
/// Each marker is a `circle` with `data-series`, `data-x` and `data-y`; each line a `polyline`
/// with `data-series` and `data-points` ("x,y x,y ..."), so the plotted values can be read back.
public struct XYPlot: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [XYSeries]
    public var width = 640.0
    public var height = 420.0

    public init(title: String, xLabel: String, yLabel: String, series: [XYSeries]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// The standalone SVG file.
    public func svg() -> String {
        let points = series.flatMap(\.points)
        let xAxis = Axis(covering: points.map(\.x)), yAxis = Axis(covering: points.map(\.y))
        let frame = Frame(canvasWidth: width, canvasHeight: height)
        var svg = SVGDocument(width: width, height: height)
        frame.draw(into: &svg, title: title, xLabel: xLabel, yLabel: yLabel, x: xAxis, y: yAxis)
        if points.isEmpty {
            svg.text("no data yet", x: frame.left + frame.width / 2, y: frame.top + frame.height / 2, size: 14, fill: "#888888")
        }
        for (i, s) in series.enumerated() {
            let color = seriesColors[i % seriesColors.count]
            let screen = s.points.map { (x: frame.x(xAxis.fraction($0.x)), y: frame.y(yAxis.fraction($0.y))) }
            switch s.style {
            case .markers:
                for (p, q) in zip(s.points, screen) {
                    svg.circle(x: q.x, y: q.y, radius: s.highlighted ? 5.5 : 3.5, fill: color,
                               stroke: s.highlighted ? "#000000" : nil,
                               data: [("series", s.name), ("x", plotValue(p.x)), ("y", plotValue(p.y))])
                }
            case .line, .stepLine:
                var path = screen
                if s.style == .stepLine {
                    // Hold each value until the next x: the best-so-far changes only at improvements.
                    path = zip(screen, screen.dropFirst()).flatMap { [$0, (x: $1.x, y: $0.y)] } + screen.suffix(1)
                }
                let data = s.points.map { plotValue($0.x) + "," + plotValue($0.y) }.joined(separator: " ")
                svg.polyline(path, stroke: color, width: 2, data: [("series", s.name), ("points", data)])
            }
        }
        frame.legend(into: &svg, entries: series.enumerated().map { i, s in
            (name: s.name, color: seriesColors[i % seriesColors.count], line: s.style != .markers)
        })
        return svg.rendered()
    }
}
