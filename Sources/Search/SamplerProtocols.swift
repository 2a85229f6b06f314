/// Chooses the parameters of a new trial from the study's trials (every state; the sampler decides which count).
public protocol Sampler: Sendable {
    /// - Parameters: space: the parameters to sample, in order; trials: the study's trials so far (all states);
    ///   directions: one per objective; trialNumber: the new trial's number (seeds derive from it and the sampler's seed).
    /// - Returns: one internal value per parameter of `space`, in its order.
    func sample(space: [(name: String, distribution: Distribution)], trials: [Trial], directions: [StudyDirection], trialNumber: Int) -> [Double]
}
/// Decides after each reported step whether a RUNNING trial stops early.
public protocol Pruner: Sendable {
    func shouldPrune(trial: Trial, step: Int, trials: [Trial], direction: StudyDirection) -> Bool
}
