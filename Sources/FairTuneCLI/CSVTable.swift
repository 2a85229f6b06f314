import FileOutput
import Foundation

/// A CSV file that could not be read or does not hold what a command needs; the message names
/// the file, the line and the column.
enum CSVError: Error, CustomStringConvertible {
    case cannotRead(path: String, reason: String)
    case noHeader(path: String)
    case unterminatedQuote(path: String, line: Int)
    case wrongFieldCount(path: String, line: Int, expected: Int, found: Int)
    case missingColumn(path: String, column: String, available: [String])
    case duplicateColumn(path: String, column: String)
    case invalidValue(path: String, line: Int, column: String, value: String, expected: String)

    var description: String {
        switch self {
        case let .cannotRead(path, reason):
            return "\(path): cannot read: \(reason)"
        case let .noHeader(path):
            return "\(path): empty file; expected a header line with column names"
        case let .unterminatedQuote(path, line):
            return "\(path), line \(line): a quoted field is not closed"
        case let .wrongFieldCount(path, line, expected, found):
            return "\(path), line \(line): \(found) fields; the header has \(expected)"
        case let .missingColumn(path, column, available):
            return "\(path): no column '\(column)' (columns: \(available.joined(separator: ", ")))"
        case let .duplicateColumn(path, column):
            return "\(path): column '\(column)' appears more than once in the header"
        case let .invalidValue(path, line, column, value, expected):
            return "\(path), line \(line), column '\(column)': '\(value)' is not \(expected)"
        }
    }
}

/// A CSV file in memory: the header and the fields of every row (RFC 4180 quoting, LF or CRLF).
struct CSVTable {
    let path: String
    let header: [String]
    /// Row-major fields; row r has `header.count` fields.
    let rows: [[String]]
    /// The file line on which each row starts (the header is line 1), for error messages.
    let lines: [Int]

    /// Reads and splits `path` (a regular file); blank lines and a leading UTF-8 byte-order mark
    /// (spreadsheet programs write one) are skipped.
    init(path: String) throws(CSVError) {
        var bytes: [UInt8]
        do { bytes = try InputFile.readAll(path) } catch { throw .cannotRead(path: path, reason: error.reason) }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var records: [[String]] = []
        var lines: [Int] = []
        var field: [UInt8] = []
        var record: [String] = []
        var inQuotes = false
        var line = 1, recordLine = 1
        var fieldWasQuoted = false
        var i = 0
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldWasQuoted = false
        }
        func endRecord() {
            endField()
            if !(record.count == 1 && record[0].isEmpty) {
                records.append(record)
                lines.append(recordLine)
            }
            record = []
        }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    field.append(b)
                }
            } else if b == UInt8(ascii: "\"") && field.isEmpty && !fieldWasQuoted {
                inQuotes = true
                fieldWasQuoted = true
            } else if b == UInt8(ascii: ",") {
                endField()
            } else if b == UInt8(ascii: "\n") {
                endRecord()
                line += 1
                recordLine = line
            } else if b != UInt8(ascii: "\r") {
                field.append(b)
            }
            i += 1
        }
        if inQuotes { throw .unterminatedQuote(path: path, line: recordLine) }
        if !field.isEmpty || !record.isEmpty { endRecord() }
        guard let header = records.first else { throw .noHeader(path: path) }
        self.path = path
        self.header = header.map { $0.trimmingCharacters(in: .whitespaces) }
        for (r, fields) in records.enumerated().dropFirst() where fields.count != header.count {
            throw .wrongFieldCount(path: path, line: lines[r], expected: header.count, found: fields.count)
        }
        self.rows = Array(records.dropFirst())
        self.lines = Array(lines.dropFirst())
    }

    /// The index of column `name`.
    func column(_ name: String) throws(CSVError) -> Int {
        let matches = header.indices.filter { header[$0] == name }
        guard let first = matches.first else { throw .missingColumn(path: path, column: name, available: header) }
        guard matches.count == 1 else { throw .duplicateColumn(path: path, column: name) }
        return first
    }

    /// Column `name` as finite numbers.
    func numbers(_ name: String) throws(CSVError) -> [Double] {
        let c = try column(name)
        var out = [Double](repeating: 0, count: rows.count)
        for r in rows.indices {
            let text = rows[r][c].trimmingCharacters(in: .whitespaces)
            guard let v = Double(text), v.isFinite else {
                throw .invalidValue(path: path, line: lines[r], column: name, value: rows[r][c], expected: "a finite number")
            }
            out[r] = v
        }
        return out
    }
}
