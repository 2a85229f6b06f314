#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import JSON

/// An Optuna journal file (JournalFileBackend format), replayed incrementally and appended to under its lock.
public struct StudyJournal: Sendable {
    public let path: String
    public let lock: JournalLock
    /// The replayed state up to `bytesRead`.
    public private(set) var replay = JournalReplay()
    /// Bytes of complete, applied lines (a refresh reads only what follows).
    public private(set) var bytesRead = 0
    /// Lines applied so far (for error messages: the next line's number is `linesRead + 1`).
    public private(set) var linesRead = 0

    /// A journal at `path`; nothing is read until `refresh()`.
    public init(path: String, lock: JournalLock) {
        self.path = path
        self.lock = lock
    }

    /// Reads and applies the lines appended since the last refresh. A last line without `\n` (a write in
    /// progress) and a last complete line that is not JSON are left for a later refresh, as Optuna's reader does.
    /// - Throws: `.corruptLine` for a bad line followed by more lines, `.invalidRecord` for an unknown op code
    ///   or a malformed record, `.notAJournal` when the file does not start with a JSON record.
    public mutating func refresh() throws(StudyError) {
        let bytes = try readNewBytes()
        var lineStart = 0
        while let newline = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
            let lineNumber = linesRead + 1
            let record: JSONValue
            do {
                record = try JSONValue.parse(bytes: Array(bytes[lineStart..<newline]))
            } catch {
                if linesRead == 0 { throw .notAJournal(path: path, reason: "line 1 is not JSON (\(error.message))") }
                if bytes[(newline + 1)...].contains(UInt8(ascii: "\n")) {
                    throw .corruptLine(path: path, line: lineNumber, reason: error.description)
                }
                return
            }
            if linesRead == 0, record["op_code"]?.intValue == nil {
                throw .notAJournal(path: path, reason: "line 1 is not a record with an op_code")
            }
            do { try replay.apply(record) } catch {
                throw .invalidRecord(path: path, line: lineNumber, reason: error.message)
            }
            linesRead += 1
            bytesRead += newline + 1 - lineStart
            lineStart = newline + 1
        }
        if linesRead == 0, let first = bytes.first, first != UInt8(ascii: "{") {
            throw .notAJournal(path: path, reason: "it does not start with a JSON record")
        }
    }

    private func readNewBytes() throws(StudyError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, reason: "cannot open: \(errorText())") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .io(path: path, reason: "cannot stat: \(errorText())") }
        let size = Int(status.st_size)
        guard size >= bytesRead else {
            throw .io(path: path, reason: "the journal shrank from \(bytesRead) to \(size) bytes (was it replaced while in use?)")
        }
        var bytes = [UInt8](repeating: 0, count: size - bytesRead)
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, $0.count - filled, off_t(bytesRead + filled)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(path: path, reason: n == 0 ? "ended early while reading" : "cannot read: \(errorText())") }
            filled += n
        }
        return bytes
    }

    /// Appends `records` as whole lines in one `write()`, then fsyncs. The caller holds the lock.
    public func append(_ records: [JSONValue]) throws(StudyError) {
        let text = records.map { $0.compactRendered() + "\n" }.joined()
        let bytes = Array(text.utf8)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(path: path, reason: "cannot open for appending: \(errorText())") }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(path: path, reason: "cannot append: \(errorText())") }
            written += n
        }
        guard fsync(descriptor) == 0 else { throw .io(path: path, reason: "fsync after appending: \(errorText())") }
    }
}
