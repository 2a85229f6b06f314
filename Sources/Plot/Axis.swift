import Foundation

/// A linear axis over a data range with "nice" ticks (1, 2 or 5 times a power of ten).
public struct Axis: Sendable, Equatable {
    /// The axis range (from the first to the last tick).
    public let lower: Double
    public let upper: Double
    /// Tick values, ascending.
    public let ticks: [Double]
    /// Distance between ticks.
    public let step: Double

    /// Covers `values` (non-finite ones ignored) with about `count` ticks. An empty or single-valued
    /// range gets a unit-wide axis around it.
    public init(covering values: [Double], count: Int = 5) {
        let finite = values.filter(\.isFinite)
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if high - low < 1e-12 * max(1, abs(low)) {
            low -= 0.5
            high += 0.5
        }
        let step = Axis.niceStep((high - low) / Double(max(count - 1, 1)))
        let first = (low / step).rounded(.down) * step
        let last = (high / step).rounded(.up) * step
        var ticks: [Double] = []
        var i = 0.0
        while first + i * step <= last + step * 1e-9 {
            // Snap to the step's precision so labels read 0.3, not 0.30000000000000004.
            ticks.append(Axis.snap(first + i * step, step: step))
            i += 1
        }
        self.lower = ticks.first ?? first
        self.upper = ticks.last ?? last
        self.ticks = ticks
        self.step = step
    }

    /// The nice number (1, 2, 5 × 10^k) nearest to `raw` (Heckbert's rounding).
    static func niceStep(_ raw: Double) -> Double {
        let power = Foundation.pow(10, (Foundation.log10(raw)).rounded(.down))
        let fraction = raw / power
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return nice * power
    }

    private static func snap(_ value: Double, step: Double) -> Double {
        let digits = max(0, -Int(Foundation.log10(step).rounded(.down)))
        let scale = Foundation.pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    /// `value`'s position in [0, 1] along the axis.
    public func fraction(_ value: Double) -> Double { (value - lower) / (upper - lower) }

    /// A tick label with as many decimals as the step needs.
    public func label(_ value: Double) -> String {
        let digits = max(0, -Int(Foundation.log10(step).rounded(.down)))
        return String(format: "%.\(digits)f", value)
    }
}

/// Where the plot area sits on the canvas, and the drawing of its frame, ticks and labels.
struct Frame {
    let left: Double, top: Double, width: Double, height: Double
    /// Space between the frame and the axis range, so points at the range's ends stay clear of the frame.
    static let inset = 12.0

    /// A plot area on a canvas of this size, leaving room for the title, legend and axis labels.
    init(canvasWidth: Double, canvasHeight: Double) {
        left = 76
        top = 62
        width = canvasWidth - 96
        height = canvasHeight - 118
    }

    func x(_ fraction: Double) -> Double { left + Frame.inset + fraction * (width - 2 * Frame.inset) }
    func y(_ fraction: Double) -> Double { top + Frame.inset + (1 - fraction) * (height - 2 * Frame.inset) }

    /// Title above, axis labels below and left, gridlines and tick labels at `x`/`y` ticks.
    func draw(into svg: inout SVGDocument, title: String, xLabel: String, yLabel: String, x: Axis?, y: Axis) {
        svg.text(title, x: left + width / 2, y: 24, size: 15, bold: true)
        for tick in y.ticks {
            let py = self.y(y.fraction(tick))
            svg.line(x1: left, y1: py, x2: left + width, y2: py, stroke: "#e5e5e5")
            svg.text(y.label(tick), x: left - 6, y: py + 4, size: 11, anchor: "end")
        }
        if let x {
            for tick in x.ticks {
                let px = self.x(x.fraction(tick))
                svg.line(x1: px, y1: top, x2: px, y2: top + height, stroke: "#e5e5e5")
                svg.text(x.label(tick), x: px, y: top + height + 16, size: 11)
            }
        }
        svg.line(x1: left, y1: top + height, x2: left + width, y2: top + height, stroke: "#333333")
        svg.line(x1: left, y1: top, x2: left, y2: top + height, stroke: "#333333")
        svg.text(xLabel, x: left + width / 2, y: top + height + 36, size: 12)
        svg.text(yLabel, x: left - 52, y: top + height / 2, size: 12, rotate: -90)
    }

    /// A legend in one row between the title and the plot: a swatch and a name per entry.
    func legend(into svg: inout SVGDocument, entries: [(name: String, color: String, line: Bool)]) {
        var x = left
        let y = top - 16
        for entry in entries {
            if entry.line {
                svg.line(x1: x, y1: y - 4, x2: x + 16, y2: y - 4, stroke: entry.color, width: 2)
            } else {
                svg.circle(x: x + 8, y: y - 4, radius: 4, fill: entry.color)
            }
            svg.text(entry.name, x: x + 22, y: y, size: 11, anchor: "start")
            x += 22 + Double(entry.name.count) * 6.5 + 18
        }
    }
}
