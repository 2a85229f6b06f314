/// A heat map of values in [0, 1] on named rows × columns (e.g. a mask: blocks × parts), each cell
/// shaded from white (0) to dark blue (1) and labelled with its value.
///
/// Each cell is a `rect` with `data-row`, `data-column` and `data-value` (absent for an empty cell).
public struct GridChart: Sendable {
    public var title: String
    public var rowTitle: String
    public var columnTitle: String
    public var rows: [String]
    public var columns: [String]
    /// [rows][columns]; nil draws a hatched-grey "no value" cell.
    public var values: [[Double?]]
    /// How a cell's value is written in it (e.g. "on"/"off", or a percentage).
    public var cellText: @Sendable (Double) -> String

    public init(title: String, rowTitle: String, columnTitle: String, rows: [String], columns: [String],
                values: [[Double?]], cellText: @escaping @Sendable (Double) -> String) {
        self.title = title
        self.rowTitle = rowTitle
        self.columnTitle = columnTitle
        self.rows = rows
        self.columns = columns
        self.values = values
        self.cellText = cellText
    }

    /// The standalone SVG file.
    public func svg() -> String {
        let cellWidth = 90.0, cellHeight = 28.0
        let rowLabelWidth = Double(max(rows.map(\.count).max() ?? 0, rowTitle.count)) * 7 + 40
        let left = rowLabelWidth + 20, top = 78.0
        let width = max(left + Double(columns.count) * cellWidth + 30, Double(title.count) * 8 + 40)
        let height = top + Double(max(rows.count, 1)) * cellHeight + 60
        var svg = SVGDocument(width: width, height: height)
        svg.text(title, x: width / 2, y: 24, size: 15, bold: true)
        svg.text(columnTitle, x: left + Double(columns.count) * cellWidth / 2, y: 48, size: 12)
        svg.text(rowTitle, x: 16, y: top + Double(rows.count) * cellHeight / 2, size: 12, rotate: -90)
        for (c, name) in columns.enumerated() {
            svg.text(name, x: left + (Double(c) + 0.5) * cellWidth, y: top - 8, size: 11)
        }
        for (r, name) in rows.enumerated() {
            let y = top + Double(r) * cellHeight
            svg.text(name, x: left - 8, y: y + cellHeight / 2 + 4, size: 11, anchor: "end")
            for c in columns.indices {
                let x = left + Double(c) * cellWidth
                let value = r < values.count && c < values[r].count ? values[r][c] : nil
                guard let value else {
                    svg.rect(x: x, y: y, width: cellWidth, height: cellHeight, fill: "#dddddd", stroke: "#ffffff",
                             data: [("row", name), ("column", columns[c])])
                    continue
                }
                svg.rect(x: x, y: y, width: cellWidth, height: cellHeight, fill: GridChart.shade(value), stroke: "#ffffff",
                         data: [("row", name), ("column", columns[c]), ("value", plotValue(value))])
                svg.text(cellText(value), x: x + cellWidth / 2, y: y + cellHeight / 2 + 4, size: 11,
                         fill: value > 0.55 ? "#ffffff" : "#222222")
            }
        }
        if rows.isEmpty || columns.isEmpty {
            svg.text("no data yet", x: width / 2, y: top + 12, size: 14, fill: "#888888")
        }
        legend(into: &svg, x: left, y: top + Double(max(rows.count, 1)) * cellHeight + 18)
        return svg.rendered()
    }

    /// White to dark blue, linear in each channel.
    static func shade(_ value: Double) -> String {
        let t = min(max(value.isFinite ? value : 0, 0), 1)
        let from = (r: 247.0, g: 251.0, b: 255.0), to = (r: 8.0, g: 48.0, b: 107.0)
        func channel(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * t).rounded()) }
        let hex = [channel(from.r, to.r), channel(from.g, to.g), channel(from.b, to.b)]
        return "#" + hex.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Swatches of 0, 0.5 and 1, each only if its text differs from the previous one (a mask's "on" once).
    private func legend(into svg: inout SVGDocument, x: Double, y: Double) {
        var shown: [(value: Double, text: String)] = []
        for v in [0.0, 0.5, 1.0] where shown.last?.text != cellText(v) { shown.append((v, cellText(v))) }
        for (i, (v, text)) in shown.enumerated() {
            let x0 = x + Double(i) * 80
            svg.rect(x: x0, y: y, width: 16, height: 12, fill: GridChart.shade(v), stroke: "#999999")
            svg.text(text, x: x0 + 20, y: y + 10, size: 10, anchor: "start")
        }
    }
}
