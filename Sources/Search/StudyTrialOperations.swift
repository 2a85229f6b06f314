import JSON

extension Study {
    /// The RUNNING trial whose `fairtune:worker` is `workerID` (the highest number if several), as of the last refresh.
    public func runningTrial(ownedBy workerID: String) -> Trial? {
        trials.last { $0.state == .running && $0.systemAttribute(Key.worker)?.stringValue == workerID }
    }

    /// For a restarted worker (a requeued array task with the same id): the RUNNING trial it owns, its heartbeat
    /// refreshed under the lock so no other worker fails it meanwhile; nil when it owns none.
    public func resume() throws(StudyError) -> Trial? {
        try locked { () throws(StudyError) -> Trial? in
            guard let trial = runningTrial(ownedBy: workerID) else { return nil }
            try appendAndRefresh([heartbeatRecord(trial)])
            return journal.replay.trials[trial.id]
        }
    }

    /// Records a heartbeat (system attr `fairtune:heartbeat` = now).
    /// - Throws: `.trialNotRunning` when another worker failed the trial as stale: stop working on it.
    public func heartbeat(trialNumber: Int) throws(StudyError) {
        try locked { () throws(StudyError) -> Void in
            try appendAndRefresh([heartbeatRecord(try runningTrial(number: trialNumber))])
        }
    }

    /// Records the objective after `step` (an epoch), then asks `pruner` whether the trial should stop.
    /// - Returns: the pruner's verdict (false without a pruner).
    public func report(trialNumber: Int, step: Int, value: Double, pruner: (any Pruner)? = nil) throws(StudyError) -> Bool {
        let trial = try locked { () throws(StudyError) -> Trial in
            let trial = try runningTrial(number: trialNumber)
            try appendAndRefresh([JournalRecords.intermediate(recordWorkerID, trialID: trial.id, step: step, value: value)])
            return journal.replay.trials[trial.id]
        }
        guard let pruner, let direction = directions.first else { return false }
        return pruner.shouldPrune(trial: trial, step: step, trials: trials, direction: direction)
    }

    /// Sets a trial user attr (one record with one key, as Optuna requires).
    public func setUserAttribute(trialNumber: Int, key: String, value: JSONValue) throws(StudyError) {
        try locked { () throws(StudyError) -> Void in
            let trial = try runningTrial(number: trialNumber)
            try appendAndRefresh([JournalRecords.trialAttribute(recordWorkerID, trialID: trial.id, key: key, value: value, system: false)])
        }
    }

    /// Finishes a RUNNING trial as Optuna's `tell` does: COMPLETE with one value per objective (a NaN value makes
    /// it FAIL with no values), PRUNED with the last intermediate value, FAIL with none.
    /// - Returns: the trial as recorded.
    @discardableResult
    public func tell(trialNumber: Int, state: TrialState, values: [Double]? = nil) throws(StudyError) -> Trial {
        guard state.isFinished else { throw .invalidArgument("tell needs COMPLETE, PRUNED or FAIL, not \(state)") }
        return try locked { () throws(StudyError) -> Trial in
            let trial = try runningTrial(number: trialNumber)
            var state = state
            var recorded: [Double]? = nil
            switch state {
            case .complete:
                guard let values, values.count == directions.count else {
                    throw .invalidArgument("trial \(trialNumber): COMPLETE needs \(directions.count) value(s), got \(values?.count ?? 0)")
                }
                if values.contains(where: \.isNaN) { state = .fail } else { recorded = values }
            case .pruned:
                recorded = directions.count == 1 ? trial.lastIntermediate.map { [$0.value] } : nil
            default:
                recorded = nil
            }
            try appendAndRefresh([JournalRecords.setState(recordWorkerID, trialID: trial.id, state: state, values: recorded,
                                                          time: JournalTime.now())])
            return journal.replay.trials[trial.id]
        }
    }

    /// Trial `number` of this study if RUNNING (the caller holds the lock and has refreshed).
    private func runningTrial(number: Int) throws(StudyError) -> Trial {
        let ids = record.trialIDs
        guard ids.indices.contains(number) else { throw .invalidArgument("study \(name) has no trial \(number)") }
        let trial = journal.replay.trials[ids[number]]
        guard trial.state == .running else { throw .trialNotRunning(number: number, state: trial.state) }
        return trial
    }

    private func heartbeatRecord(_ trial: Trial) -> JSONValue {
        JournalRecords.trialAttribute(recordWorkerID, trialID: trial.id, key: Key.heartbeat, value: .string(JournalTime.now()), system: true)
    }

    // MARK: - Results

    /// COMPLETE + PRUNED trials: what counts toward the wanted number.
    public var finishedCount: Int { trials.filter { $0.state == .complete || $0.state == .pruned }.count }

    /// The COMPLETE trial with the best value (single objective; the first one on ties, as Optuna); nil if none.
    public var bestTrial: Trial? {
        guard directions.count == 1 else { return nil }
        let sign = directions[0] == .maximize ? -1.0 : 1.0
        var best: (trial: Trial, score: Double)? = nil
        for trial in trials where trial.state == .complete {
            guard let value = trial.values?.first, !value.isNaN else { continue }
            if best.map({ sign * value < $0.score }) ?? true { best = (trial: trial, score: sign * value) }
        }
        return best?.trial
    }

    /// The COMPLETE trials no other COMPLETE trial dominates (no worse in every objective, better in one).
    public var paretoFront: [Trial] {
        let signs = directions.map { $0 == .maximize ? -1.0 : 1.0 }
        // Scores to minimise, one per objective.
        let scored: [(trial: Trial, scores: [Double])] = trials.compactMap { trial in
            guard trial.state == .complete, let values = trial.values, values.count == signs.count else { return nil }
            return (trial: trial, scores: zip(signs, values).map { $0 * $1 })
        }
        func dominates(_ a: [Double], _ b: [Double]) -> Bool {
            zip(a, b).allSatisfy { $0 <= $1 } && zip(a, b).contains { $0 < $1 }
        }
        return scored.filter { candidate in !scored.contains { dominates($0.scores, candidate.scores) } }.map(\.trial)
    }
}
