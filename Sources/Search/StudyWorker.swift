import JSON

/// What `ask` found.
public enum AskResult {
    /// A trial to run, now RUNNING and owned by this worker.
    case trial(Trial)
    /// Every remaining trial is running elsewhere: ask again later (one of them may fail and be retried).
    case wait
    /// The study has its wanted number of finished trials.
    case complete
}

extension Study {
    /// Hands out the next trial, under the lock: fails stale trials (re-queuing them), then claims a WAITING trial
    /// or samples a new one, but only while finished + running < the wanted number, so the study never ends with
    /// more finished trials than wanted.
    public func ask(sampler: some Sampler) throws(StudyError) -> AskResult {
        let settings = try self.settings()
        return try locked { () throws(StudyError) -> AskResult in
            try failStaleTrials(gracePeriod: settings.gracePeriod)
            let trials = self.trials
            let finished = trials.filter { $0.state == .complete || $0.state == .pruned }.count
            if finished >= settings.finishedTrialsWanted { return .complete }
            let running = trials.filter { $0.state == .running }.count
            if finished + running >= settings.finishedTrialsWanted { return .wait }
            if let waiting = trials.first(where: { $0.state == .waiting }) {
                return try claim(waiting, sampler: sampler, space: settings.searchSpace)
            }
            return .trial(try createTrial(sampler: sampler, space: settings.searchSpace))
        }
    }

    /// Samples the parameters of trial `number` and checks the sampler's answer.
    private func sample(_ sampler: some Sampler, space: [(name: String, distribution: Distribution)],
                        number: Int) throws(StudyError) -> [Double] {
        let values = sampler.sample(space: space, trials: trials, directions: directions, trialNumber: number)
        guard values.count == space.count else {
            throw .invalidArgument("the sampler returned \(values.count) values for \(space.count) parameters")
        }
        for (value, parameter) in zip(values, space) where !parameter.distribution.contains(value) {
            throw .invalidArgument("the sampler returned \(value) for \(parameter.name), outside \(parameter.distribution.journalText)")
        }
        return values
    }

    /// Appends a RUNNING trial with sampled params in one CREATE_TRIAL, then finds it by replay.
    private func createTrial(sampler: some Sampler, space: [(name: String, distribution: Distribution)]) throws(StudyError) -> Trial {
        let number = trials.count
        let values = try sample(sampler, space: space, number: number)
        let now = JournalTime.now()
        var distributions: [String: Distribution] = [:]
        for parameter in space { distributions[parameter.name] = parameter.distribution }
        let record = JournalRecords.createTrial(
            recordWorkerID, studyID: studyID, state: .running, start: now,
            params: zip(space, values).map { (name: $0.0.name, value: $0.1) }, distributions: distributions,
            userAttributes: [], systemAttributes: [(Key.worker, .string(workerID)), (Key.heartbeat, .string(now))])
        try appendAndRefresh([record])
        guard let trial = trials.last(where: { $0.creatorWorkerID == recordWorkerID }), trial.number == number else {
            throw .io(path: journal.path, reason: "the new trial \(number) is not in the journal after appending it")
        }
        return trial
    }

    /// Claims a WAITING trial (op 6 RUNNING; the first claim in the file wins), filling params it lacks
    /// (Optuna's `enqueue_trial` leaves them in system attr `fixed_params`) from there or from the sampler.
    private func claim(_ waiting: Trial, sampler: some Sampler,
                       space: [(name: String, distribution: Distribution)]) throws(StudyError) -> AskResult {
        let now = JournalTime.now()
        var records = [JournalRecords.setState(recordWorkerID, trialID: waiting.id, state: .running, values: nil, time: now)]
        let missing = space.filter { waiting.param($0.name) == nil }
        if !missing.isEmpty {
            let sampled = try sample(sampler, space: space, number: waiting.number)
            let fixed = waiting.systemAttribute("fixed_params")
            for (parameter, value) in zip(space, sampled) where waiting.param(parameter.name) == nil {
                let chosen = fixed?[parameter.name].flatMap { parameter.distribution.internalValue($0) }
                    .flatMap { parameter.distribution.contains($0) ? $0 : nil } ?? value
                records.append(JournalRecords.setParam(recordWorkerID, trialID: waiting.id, name: parameter.name,
                                                       value: chosen, distribution: parameter.distribution))
            }
        }
        records.append(JournalRecords.trialAttribute(recordWorkerID, trialID: waiting.id, key: Key.worker, value: .string(workerID), system: true))
        records.append(JournalRecords.trialAttribute(recordWorkerID, trialID: waiting.id, key: Key.heartbeat, value: .string(now), system: true))
        try appendAndRefresh(records)
        let trial = journal.replay.trials[waiting.id]
        guard trial.state == .running, trial.startText == now, trial.systemAttribute(Key.worker)?.stringValue == workerID else {
            return .wait  // another process claimed it first (possible only for a writer that ignores the lock)
        }
        return .trial(trial)
    }

    /// Marks FAIL every RUNNING trial whose heartbeat is older than `gracePeriod` seconds and re-queues it as a
    /// WAITING trial, as Optuna's `RetryHeartbeatStaleTrialCallback` does. Trials without a heartbeat attr
    /// (Optuna's own workers write none) are never stale. The caller holds the lock.
    func failStaleTrials(gracePeriod: Double, now: Double = JournalTime.nowSeconds()) throws(StudyError) {
        var records: [JSONValue] = []
        let completeText = JournalTime.text(seconds: now)
        for trial in trials where trial.state == .running {
            guard let beat = trial.systemAttribute(Key.heartbeat)?.stringValue.flatMap(JournalTime.seconds),
                  now - beat > gracePeriod else { continue }
            records.append(JournalRecords.setState(recordWorkerID, trialID: trial.id, state: .fail, values: nil, time: completeText))
            records.append(JournalRecords.createTrial(
                recordWorkerID, studyID: studyID, state: .waiting, start: nil, params: trial.params,
                distributions: trial.distributions, userAttributes: trial.userAttributes,
                systemAttributes: Study.retrySystemAttributes(of: trial)))
        }
        if !records.isEmpty { try appendAndRefresh(records) }
    }

    /// `failed_trial` (the first failed number of the chain) and `retry_history` (every failed number), then the
    /// trial's own system attrs, as `RetryHeartbeatStaleTrialCallback` builds them.
    static func retrySystemAttributes(of trial: Trial) -> [(key: String, value: JSONValue)] {
        var attributes: [(key: String, value: JSONValue)] = [("failed_trial", .number(Double(trial.number))), ("retry_history", .array([]))]
        for attribute in trial.systemAttributes { upsert(&attributes, attribute.key, attribute.value) }
        let history = (attributes.first { $0.key == "retry_history" }?.value.arrayValue ?? []) + [.number(Double(trial.number))]
        upsert(&attributes, "retry_history", .array(history))
        return attributes
    }
}
