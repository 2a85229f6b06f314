import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Plot

/// Parses SVG text with Foundation's XML parser and collects every element's attributes.
final class ElementCollector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    /// The text of each element that has some (the parser may deliver it in pieces, e.g. at entities).
    var texts: [String] = []
    private var current = ""
    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append((elementName, attributes))
        current = ""
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { texts.append(current) }
        current = ""
    }

    static func parse(_ svg: String) throws -> ElementCollector {
        let collector = ElementCollector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        guard parser.parse() else {
            throw NSError(domain: "svg", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(parser.parserError.map { "\($0)" } ?? "?")"])
        }
        return collector
    }
}

final class PlotTests: XCTestCase {
    func testNiceTicksCoverTheDataWithRoundSteps() {
        let axis = Axis(covering: [0.613, 0.872])
        XCTAssertEqual(axis.step, 0.05)
        XCTAssertEqual(axis.ticks, [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9])
        XCTAssertEqual(axis.label(0.65), "0.65")
        let wide = Axis(covering: [0, 23])
        XCTAssertEqual(wide.ticks, [0, 5, 10, 15, 20, 25])
        XCTAssertEqual(wide.label(10), "10")
        let flat = Axis(covering: [3, 3])
        XCTAssertLessThan(flat.lower, 3)
        XCTAssertGreaterThan(flat.upper, 3)
        let empty = Axis(covering: [.nan])
        XCTAssertEqual(empty.lower, 0)
        XCTAssertEqual(empty.upper, 1)
    }

    func testEscapingKeepsAnyLabelWellFormed() throws {
        XCTAssertEqual(SVGDocument.escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
        let plot = XYPlot(title: "<F & M>", xLabel: "x \"1\"", yLabel: "y'", series: [
            XYSeries(name: "a&b", points: [(x: 1, y: 2)], style: .markers),
        ])
        let parsed = try ElementCollector.parse(plot.svg())
        XCTAssertTrue(parsed.texts.contains("<F & M>"))
        XCTAssertEqual(parsed.elements.first { $0.name == "circle" && $0.attributes["data-series"] != nil }?.attributes["data-series"], "a&b")
    }

    func testXYPlotWritesEveryPointAsData() throws {
        let values = [(x: 0.0, y: 0.61), (x: 1.0, y: 0.7), (x: 2.0, y: 0.65), (x: 3.0, y: 0.8)]
        var best = 0.0
        let bestSoFar = values.map { p -> (x: Double, y: Double) in best = max(best, p.y); return (p.x, best) }
        let plot = XYPlot(title: "History", xLabel: "trial", yLabel: "AUC", series: [
            XYSeries(name: "trial", points: values, style: .markers),
            XYSeries(name: "best so far", points: bestSoFar, style: .stepLine),
        ])
        let parsed = try ElementCollector.parse(plot.svg())
        XCTAssertEqual(parsed.elements.first?.name, "svg")
        let markers = parsed.elements.filter { $0.name == "circle" && $0.attributes["data-series"] == "trial" }
        XCTAssertEqual(markers.map { Double($0.attributes["data-y"]!)! }, values.map(\.y))
        XCTAssertEqual(markers.map { Double($0.attributes["data-x"]!)! }, values.map(\.x))
        let line = try XCTUnwrap(parsed.elements.first { $0.name == "polyline" })
        XCTAssertEqual(line.attributes["data-points"], "0.0,0.61 1.0,0.7 2.0,0.7 3.0,0.8")
        // The step line holds each value until the next trial: 2n - 1 vertices.
        XCTAssertEqual(line.attributes["points"]!.split(separator: " ").count, 7)
        XCTAssertTrue(parsed.texts.contains("History"))
        XCTAssertTrue(parsed.texts.contains("best so far"))
    }

    func testEmptyPlotSaysSo() throws {
        let plot = XYPlot(title: "Nothing", xLabel: "x", yLabel: "y", series: [XYSeries(name: "s", points: [], style: .markers)])
        let parsed = try ElementCollector.parse(plot.svg())
        XCTAssertTrue(parsed.texts.contains("no data yet"))
    }

    func testGridChartCellsCarryTheirValues() throws {
        let grid = GridChart(title: "Mask", rowTitle: "block", columnTitle: "part", rows: ["block 0", "block 1"],
                             columns: ["norms", "attention", "MLP"], values: [[1, 0, 1], [0, nil, 0.25]],
                             cellText: { $0 == 1 ? "on" : $0 == 0 ? "off" : "\(Int($0 * 100))%" })
        let parsed = try ElementCollector.parse(grid.svg())
        let cells = parsed.elements.filter { $0.attributes["data-row"] != nil }
        XCTAssertEqual(cells.count, 6)
        XCTAssertEqual(cells.map { $0.attributes["data-value"].map { Double($0)! } }, [1, 0, 1, 0, nil, 0.25])
        XCTAssertEqual(cells[4].attributes["data-column"], "attention")
        XCTAssertTrue(parsed.texts.contains("25%"))
        // The legend shows each distinct cell text once.
        let onOff = try ElementCollector.parse(GridChart(title: "m", rowTitle: "r", columnTitle: "c", rows: ["a"], columns: ["b"],
                                                         values: [[1]], cellText: { $0 >= 0.5 ? "on" : "off" }).svg())
        XCTAssertEqual(onOff.texts.filter { $0 == "on" }.count, 2)  // the cell and one legend entry
        let empty = try ElementCollector.parse(GridChart(title: "m", rowTitle: "r", columnTitle: "c", rows: [], columns: ["b"],
                                                         values: [], cellText: { "\($0)" }).svg())
        XCTAssertTrue(empty.texts.contains("no data yet"))
        XCTAssertEqual(GridChart.shade(0), "#f7fbff")
        XCTAssertEqual(GridChart.shade(1), "#08306b")
    }

    func testIntervalChartPointsAndWhiskers() throws {
        let chart = IntervalChart(title: "Per-group AUC", categoryLabel: "group", valueLabel: "AUC", categories: ["F", "M"],
                                  series: [("fairtune", [IntervalPoint(value: 0.8, lower: 0.7, upper: 0.9), nil]),
                                           ("fullft", [IntervalPoint(value: 0.75, lower: 0.6, upper: 0.85),
                                                       IntervalPoint(value: 0.7, lower: 0.65, upper: 0.72)])])
        let parsed = try ElementCollector.parse(chart.svg())
        let points = parsed.elements.filter { $0.attributes["data-category"] != nil }
        XCTAssertEqual(points.count, 3)
        XCTAssertEqual(points.map { $0.attributes["data-series"]! }, ["fairtune", "fullft", "fullft"])
        XCTAssertEqual(points.map { Double($0.attributes["data-upper"]!)! }, [0.9, 0.85, 0.72])
        // Whisker ends are drawn inside the plot area.
        let lines = parsed.elements.filter { $0.name == "line" }.map { Double($0.attributes["y1"]!)! }
        XCTAssertTrue(lines.allSatisfy { $0 >= 62 && $0 <= 420 - 56 })
    }
}
