/// A failure in optimizer, schedule or gradient settings or state that a user can fix.
public enum OptimizationError: Error, Equatable, CustomStringConvertible {
    /// A hyperparameter outside its valid range (`expected` says the range).
    case invalidHyperparameter(name: String, value: Double, expected: String)
    /// A saved optimizer state that does not fit this optimizer (wrong kind, buffers or sizes).
    case stateMismatch(reason: String)
    /// A gradient element that is NaN or infinite, at `index` of the flat buffer.
    case nonFiniteGradient(index: Int, value: Float)

    public var description: String {
        switch self {
        case let .invalidHyperparameter(name, value, expected):
            return "\(name) = \(value) is invalid: expected \(expected)"
        case let .stateMismatch(reason):
            return "optimizer state cannot be restored: \(reason); resume with the same optimizer and trainable parameters"
        case let .nonFiniteGradient(index, value):
            return "gradient element \(index) is \(value); training stopped (lower the learning rate or clip gradients)"
        }
    }
}
