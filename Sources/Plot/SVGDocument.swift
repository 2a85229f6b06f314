import Foundation

/// A standalone SVG document built element by element: every text and attribute value is escaped,
/// so any label (a group named `<F & M>`) gives well-formed XML.
public struct SVGDocument {
    /// Canvas size in pixels.
    public let width: Double
    public let height: Double
    private var body: [String] = []

    /// An empty white canvas.
    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
        rect(x: 0, y: 0, width: width, height: height, fill: "#ffffff")
    }

    /// `text` with the five XML special characters escaped (valid in text and in quoted attributes).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // Control characters other than tab and newline are not allowed in XML 1.0.
            case _ where c.value < 0x20 && c != "\t" && c != "\n": out += " "
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A coordinate or size as short text (two decimals are enough at screen resolution).
    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// Appends an element; `attributes` are written in order, `data` as `data-NAME` attributes
    /// (the plotted values, so a reader or a test can recover them exactly).
    public mutating func element(_ name: String, _ attributes: [(String, String)], data: [(String, String)] = [],
                                 text: String? = nil) {
        var line = "<" + name
        for (key, value) in attributes { line += " \(key)=\"\(SVGDocument.escape(value))\"" }
        for (key, value) in data { line += " data-\(key)=\"\(SVGDocument.escape(value))\"" }
        if let text {
            line += ">" + SVGDocument.escape(text) + "</\(name)>"
        } else {
            line += "/>"
        }
        body.append(line)
    }

    /// A filled rectangle.
    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil,
                              data: [(String, String)] = []) {
        var attributes = [("x", SVGDocument.number(x)), ("y", SVGDocument.number(y)),
                          ("width", SVGDocument.number(width)), ("height", SVGDocument.number(height)), ("fill", fill)]
        if let stroke { attributes.append(("stroke", stroke)) }
        element("rect", attributes, data: data)
    }

    /// A straight line.
    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                              dashed: Bool = false) {
        var attributes = [("x1", SVGDocument.number(x1)), ("y1", SVGDocument.number(y1)), ("x2", SVGDocument.number(x2)),
                          ("y2", SVGDocument.number(y2)), ("stroke", stroke), ("stroke-width", SVGDocument.number(width))]
        if dashed { attributes.append(("stroke-dasharray", "4 3")) }
        element("line", attributes)
    }

    /// A polyline through `points` (screen coordinates).
    public mutating func polyline(_ points: [(x: Double, y: Double)], stroke: String, width: Double = 1.5,
                                  data: [(String, String)] = []) {
        let text = points.map { SVGDocument.number($0.x) + "," + SVGDocument.number($0.y) }.joined(separator: " ")
        element("polyline", [("points", text), ("fill", "none"), ("stroke", stroke), ("stroke-width", SVGDocument.number(width))],
                data: data)
    }

    /// A circle.
    public mutating func circle(x: Double, y: Double, radius: Double, fill: String, stroke: String? = nil,
                                data: [(String, String)] = []) {
        var attributes = [("cx", SVGDocument.number(x)), ("cy", SVGDocument.number(y)), ("r", SVGDocument.number(radius)),
                          ("fill", fill)]
        if let stroke { attributes.append(("stroke", stroke)) }
        element("circle", attributes, data: data)
    }

    /// Text anchored at (x, y); `anchor` is start, middle or end; `rotate` in degrees about the anchor.
    public mutating func text(_ text: String, x: Double, y: Double, size: Double = 12, anchor: String = "middle",
                              bold: Bool = false, rotate: Double = 0, fill: String = "#222222") {
        var attributes = [("x", SVGDocument.number(x)), ("y", SVGDocument.number(y)), ("font-size", SVGDocument.number(size)),
                          ("text-anchor", anchor), ("fill", fill)]
        if bold { attributes.append(("font-weight", "bold")) }
        if rotate != 0 {
            attributes.append(("transform", "rotate(\(SVGDocument.number(rotate)) \(SVGDocument.number(x)) \(SVGDocument.number(y)))"))
        }
        element("text", attributes, text: text)
    }

    /// The whole file: XML declaration, the `svg` root with its size and a sans-serif font.
    public func rendered() -> String {
        let w = SVGDocument.number(width), h = SVGDocument.number(height)
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(w)" height="\(h)" viewBox="0 0 \(w) \(h)" \
            font-family="Helvetica, Arial, sans-serif">

            """ + body.joined(separator: "\n") + "\n</svg>\n"
    }
}

/// A data value written into a `data-` attribute: the shortest text that reads back as the same Double.
public func plotValue(_ value: Double) -> String { "\(value)" }

/// Colours told apart by colour-blind readers (Okabe and Ito), in series order.
public let seriesColors = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
