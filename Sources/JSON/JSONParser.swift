/// A JSON syntax error: what was expected, at which line and column of the text.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    /// Byte offset from the start of the text.
    public let offset: Int
    /// 1-based line and column (in bytes) of the offset.
    public let line: Int
    public let column: Int
    public let message: String

    public var description: String { "line \(line), column \(column): \(message)" }
}

extension JSONValue {
    /// Parses `text` as exactly one JSON value surrounded by optional whitespace. Accepts Python's
    /// bare `NaN`, `Infinity` and `-Infinity` (Optuna's journal writes them). Object keys keep their
    /// order; a repeated key is an error, as are nesting deeper than 512 and trailing text.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses UTF-8 bytes; see `parse(_:)`.
    ///
    /// - Parameters:
    ///   - allowNonFinite: whether Python's bare `NaN`, `Infinity` and `-Infinity` are numbers;
    ///     false reads strict RFC 8259 JSON, as formats such as safetensors require.
    ///   - allowDuplicateMembers: whether an object may repeat a member name (every pair is kept,
    ///     in order), for a caller that reports repeats in its own terms.
    public static func parse(bytes: [UInt8], allowNonFinite: Bool = true,
                             allowDuplicateMembers: Bool = false) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, allowNonFinite: allowNonFinite, allowDuplicateMembers: allowDuplicateMembers)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.position == bytes.count else { throw parser.error("unexpected text after the value") }
        return value
    }
}

/// A recursive-descent parser over UTF-8 bytes.
struct JSONParser {
    let bytes: [UInt8]
    let allowNonFinite: Bool
    let allowDuplicateMembers: Bool
    var position = 0
    static let maximumDepth = 512

    init(bytes: [UInt8], allowNonFinite: Bool, allowDuplicateMembers: Bool) {
        self.bytes = bytes
        self.allowNonFinite = allowNonFinite
        self.allowDuplicateMembers = allowDuplicateMembers
    }

    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let at = min(offset ?? position, bytes.count)
        var line = 1, lineStart = 0
        for i in 0..<at where bytes[i] == UInt8(ascii: "\n") { line += 1; lineStart = i + 1 }
        return JSONParseError(offset: at, line: line, column: at - lineStart + 1, message: message)
    }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        guard let c = current else { throw error("expected a value, found the end of the text") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"): try nonFinite("NaN"); return .number(.nan)
        case UInt8(ascii: "I"): try nonFinite("Infinity"); return .number(.infinity)
        default: return .number(try number())
        }
    }

    mutating func literal(_ word: String) throws(JSONParseError) {
        let w = Array(word.utf8)
        guard position + w.count <= bytes.count, Array(bytes[position..<position + w.count]) == w else {
            throw error("expected a value")
        }
        position += w.count
    }

    /// Python's token `word` (`NaN`, `Infinity`), refused in strict JSON.
    mutating func nonFinite(_ word: String) throws(JSONParseError) {
        let start = position
        try literal(word)
        guard allowNonFinite else { throw error("\(word) is not a JSON number (strict JSON has no non-finite values)", at: start) }
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        position += 1
        var pairs: [(String, JSONValue)] = []
        var seen = Set<String>()
        skipSpace()
        if current == UInt8(ascii: "}") { position += 1; return .object(pairs) }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a quoted member name") }
            let keyOffset = position
            let key = try string()
            guard allowDuplicateMembers || seen.insert(key).inserted else { throw error("member \"\(key)\" appears twice", at: keyOffset) }
            skipSpace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after member \"\(key)\"") }
            position += 1
            skipSpace()
            pairs.append((key, try value(depth: depth + 1)))
            skipSpace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "}") { position += 1; return .object(pairs) }
            throw error("expected ',' or '}' in an object")
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        position += 1
        var items: [JSONValue] = []
        skipSpace()
        if current == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "]") { position += 1; return .array(items) }
            throw error("expected ',' or ']' in an array")
        }
    }

    /// A number as JSON writes it, or Python's `-Infinity`.
    mutating func number() throws(JSONParseError) -> Double {
        let start = position
        if current == UInt8(ascii: "-") {
            position += 1
            if current == UInt8(ascii: "I") {
                position = start
                try nonFinite("-Infinity")
                return -.infinity
            }
        }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.position
            while let c = p.current, c >= 0x30, c <= 0x39 { p.position += 1 }
            return p.position - s
        }
        let intStart = position
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw error("expected a value", at: start) }
        guard intDigits == 1 || bytes[intStart] != UInt8(ascii: "0") else { throw error("a number with a leading zero", at: start) }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("expected digits after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("expected digits in the exponent") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let x = Double(text) else { throw error("'\(text)' is not a number", at: start) }
        return x
    }

    mutating func string() throws(JSONParseError) -> String {
        let start = position
        position += 1
        var out: [UInt8] = []
        while true {
            guard let c = current else { throw error("unterminated string", at: start) }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8", at: start) }
                return s
            case UInt8(ascii: "\\"): try escape(into: &out)
            case 0..<0x20: throw error("a control character inside a string", at: position - 1)
            default: out.append(c)
            }
        }
    }

    mutating func escape(into out: inout [UInt8]) throws(JSONParseError) {
        guard let c = current else { throw error("unterminated escape") }
        position += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A surrogate pair, as Python writes characters beyond the BMP with ensure_ascii.
                guard current == UInt8(ascii: "\\") else { throw error("a lone high surrogate") }
                position += 1
                guard current == UInt8(ascii: "u") else { throw error("a lone high surrogate") }
                position += 1
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("a high surrogate without its low half") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let u = Unicode.Scalar(scalar) else { throw error("\\u escape of an invalid character") }
            out.append(contentsOf: Array(String(Character(u)).utf8))
        default: throw error("unknown escape '\\\(Character(Unicode.Scalar(c)))'")
        }
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("a \\u escape needs four hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            guard let d = Character(Unicode.Scalar(c)).hexDigitValue else { throw error("a \\u escape needs four hex digits") }
            v = v * 16 + UInt32(d)
            position += 1
        }
        return v
    }
}
