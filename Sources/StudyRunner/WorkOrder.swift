import Distributed
import JSON

/// What rank 0, which alone reads and writes the journal, tells every rank to do next.
enum WorkOrder: Equatable {
    /// Train trial `number` with the study's training arguments and the trial's parameters.
    case train(number: Int, assignment: TrialAssignment, arguments: [String], runDirectory: String)
    /// Every remaining trial runs elsewhere: wait, then ask again.
    case wait(seconds: Double)
    /// The study is complete or this worker's limits are reached.
    case finish(message: String)
    /// A stop was requested (SIGTERM/SIGUSR1) between trials.
    case stop
    /// Rank 0 failed (the journal cannot be read, a trial cannot be set up); it reports the message.
    case fail(message: String)

    var json: JSONValue {
        switch self {
        case let .train(number, assignment, arguments, runDirectory):
            return .object([("kind", .string("train")), ("number", .number(Double(number))),
                            ("mask", assignment.mask.map { .string($0) } ?? .null), ("lr", .string(assignment.learningRate)),
                            ("head_lr_multiplier", assignment.headMultiplier.map { .string($0) } ?? .null),
                            ("arguments", .array(arguments.map { .string($0) })), ("run_dir", .string(runDirectory))])
        case let .wait(seconds): return .object([("kind", .string("wait")), ("seconds", .number(seconds))])
        case let .finish(message): return .object([("kind", .string("finish")), ("message", .string(message))])
        case .stop: return .object([("kind", .string("stop"))])
        case let .fail(message): return .object([("kind", .string("fail")), ("message", .string(message))])
        }
    }

    init?(json: JSONValue) {
        switch json["kind"]?.stringValue {
        case "train":
            guard let number = json["number"]?.intValue, let lr = json["lr"]?.stringValue,
                  let arguments = json["arguments"]?.arrayValue?.compactMap(\.stringValue),
                  let runDirectory = json["run_dir"]?.stringValue else { return nil }
            self = .train(number: number, assignment: TrialAssignment(mask: json["mask"]?.stringValue, learningRate: lr,
                                                                      headMultiplier: json["head_lr_multiplier"]?.stringValue),
                          arguments: arguments, runDirectory: runDirectory)
        case "wait": self = .wait(seconds: json["seconds"]?.doubleValue ?? 1)
        case "finish": self = .finish(message: json["message"]?.stringValue ?? "")
        case "stop": self = .stop
        case "fail": self = .fail(message: json["message"]?.stringValue ?? "rank 0 failed")
        default: return nil
        }
    }

    /// Rank 0's `order` on every rank (others pass nil).
    static func broadcast(_ order: WorkOrder?, world: Communicator) throws -> WorkOrder {
        var bytes = Array((order?.json.compactRendered() ?? "").utf8)
        var count = [bytes.count]
        try world.broadcast(&count)
        if !world.isRoot { bytes = [UInt8](repeating: 0, count: count[0]) }
        try world.broadcast(&bytes)
        if world.isRoot, let order { return order }
        guard let value = try? JSONValue.parse(bytes: bytes), let received = WorkOrder(json: value) else {
            return .fail(message: "rank \(world.rank) received an unreadable order from rank 0")
        }
        return received
    }
}

extension TrialAssignment {
    init(mask: String?, learningRate: String, headMultiplier: String? = nil) {
        self.mask = mask
        self.learningRate = learningRate
        self.headMultiplier = headMultiplier
    }
}
