#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Timestamps as Optuna 5 writes them: ISO-8601 in UTC with microseconds and `+00:00`.
public enum JournalTime {
    /// Seconds since the Unix epoch, now (wall clock).
    public static func nowSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// Seconds of a monotonic clock, for measuring waits.
    static func monotonicSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// `seconds` (since the epoch) as e.g. `2026-11-30T09:55:29.123456+00:00`.
    public static func text(seconds: Double) -> String {
        var whole = time_t(seconds.rounded(.down))
        var micros = Int(((seconds - Double(whole)) * 1e6).rounded())
        if micros >= 1_000_000 { whole += 1; micros -= 1_000_000 }
        var fields = tm()
        gmtime_r(&whole, &fields)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(Int(fields.tm_year) + 1900, 4))-\(pad(Int(fields.tm_mon) + 1, 2))-\(pad(Int(fields.tm_mday), 2))"
            + "T\(pad(Int(fields.tm_hour), 2)):\(pad(Int(fields.tm_min), 2)):\(pad(Int(fields.tm_sec), 2))"
            + ".\(pad(micros, 6))+00:00"
    }

    /// The current time as Optuna 5 writes it.
    public static func now() -> String { text(seconds: nowSeconds()) }

    /// Seconds since the epoch of an ISO-8601 text `YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM|-HH:MM|Z]`.
    /// A text without an offset (Optuna 3 and 4 write local time) is taken as UTC. Nil if malformed.
    public static func seconds(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[13] == UInt8(ascii: ":"),
              b[16] == UInt8(ascii: ":") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for i in from..<from + count {
                guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var position = 19
        var fraction = 0.0
        if position < b.count, b[position] == UInt8(ascii: ".") {
            var scale = 0.1
            position += 1
            while position < b.count, b[position] >= 0x30, b[position] <= 0x39 {
                fraction += Double(b[position] - 0x30) * scale
                scale /= 10
                position += 1
            }
        }
        var offset = 0
        if position < b.count {
            if b[position] == UInt8(ascii: "Z") {
                position += 1
            } else {
                guard b[position] == UInt8(ascii: "+") || b[position] == UInt8(ascii: "-"),
                      let hours = number(position + 1, 2), let minutes = number(position + 4, 2) else { return nil }
                offset = (hours * 3600 + minutes * 60) * (b[position] == UInt8(ascii: "-") ? -1 : 1)
                position += 6
            }
        }
        guard position == b.count else { return nil }
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(month - 1)
        fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(hour)
        fields.tm_min = Int32(minute)
        fields.tm_sec = Int32(second)
        return Double(timegm(&fields) - offset) + fraction
    }
}
