/// Non-dominated sorting and hypervolume subset selection, as Optuna 5 splits a multi-objective study's
/// trials (`_fast_non_domination_rank`, `_solve_hssp`). Loss values: lower is better in every objective.
public enum Pareto {
    /// The non-domination rank (0 = the Pareto front) of each point. Like Optuna, sorting stops once
    /// `nBelow` distinct points are ranked; every later point gets the next rank.
    public static func nonDominationRanks(_ losses: [[Double]], nBelow: Int? = nil) -> [Int] {
        if losses.isEmpty { return [] }
        let unique = uniqueLexsorted(losses)
        let target = min(nBelow ?? unique.rows.count, unique.rows.count)
        var uniqueRanks = [Int](repeating: 0, count: unique.rows.count)
        var remaining = Array(unique.rows.indices)
        var rank = 0
        while unique.rows.count - remaining.count < target {
            let front = remaining.filter { i in !remaining.contains { j in dominates(unique.rows[j], unique.rows[i]) } }
            for i in front { uniqueRanks[i] = rank }
            remaining.removeAll { front.contains($0) }
            rank += 1
        }
        for i in remaining { uniqueRanks[i] = rank }
        return unique.inverse.map { uniqueRanks[$0] }
    }

    /// Whether `a` is no worse than `b` everywhere and better somewhere.
    public static func dominates(_ a: [Double], _ b: [Double]) -> Bool {
        var better = false
        for (x, y) in zip(a, b) {
            if x > y { return false }
            if x < y { better = true }
        }
        return better
    }

    /// The distinct rows in lexicographic order, the first index of each, and each row's distinct index
    /// (numpy's `unique(axis=0, return_index=True, return_inverse=True)`).
    static func uniqueLexsorted(_ rows: [[Double]]) -> (rows: [[Double]], first: [Int], inverse: [Int]) {
        let order = rows.indices.sorted { a, b in
            if rows[a] != rows[b] { return rows[a].lexicographicallyPrecedes(rows[b]) }
            return a < b
        }
        var unique: [[Double]] = [], first: [Int] = [], inverse = [Int](repeating: 0, count: rows.count)
        for index in order {
            if unique.last != rows[index] {
                unique.append(rows[index])
                first.append(index)
            }
            inverse[index] = unique.count - 1
        }
        return (unique, first, inverse)
    }

    /// Optuna's reference point for a set of losses: 1.1 × the worst value per objective (0.9 × when
    /// negative), 1e-12 instead of 0.
    public static func referencePoint(_ losses: [[Double]]) -> [Double] {
        (0..<(losses.first?.count ?? 0)).map { column in
            let worst = losses.map { $0[column] }.max()!
            let reference = max(1.1 * worst, 0.9 * worst)
            return reference == 0 ? 1e-12 : reference
        }
    }

    /// `subsetSize` of the two-objective `losses` chosen greedily for the largest hypervolume against
    /// `reference` (Optuna's `_solve_hssp` for two objectives), as indices into `losses`, in selection order
    /// (ascending index when duplicates fill the subset).
    public static func hypervolumeSubset(_ losses: [[Double]], subsetSize: Int, reference: [Double]) -> [Int] {
        if subsetSize >= losses.count { return Array(losses.indices) }
        let unique = uniqueLexsorted(losses)
        if unique.rows.count < subsetSize {
            let firsts = Set(unique.first)
            let duplicates = losses.indices.filter { !firsts.contains($0) }.prefix(subsetSize - unique.rows.count)
            return losses.indices.filter { firsts.contains($0) || duplicates.contains($0) }
        }
        if !reference.allSatisfy({ $0.isFinite }) { return Array(unique.first.prefix(subsetSize)) }
        if unique.rows.count == subsetSize { return unique.first }
        return greedy2D(unique.rows, subsetSize: subsetSize, reference: reference).map { unique.first[$0] }
    }

    /// The greedy selection on distinct, lexicographically sorted two-objective points: each step takes the
    /// point with the largest exclusive box, then shrinks the boxes of its neighbours.
    static func greedy2D(_ points: [[Double]], subsetSize: Int, reference: [Double]) -> [Int] {
        var candidates = Array(points.indices)
        var corners = [[Double]](repeating: reference, count: points.count)
        var selected: [Int] = []
        for _ in 0..<subsetSize {
            var best = 0, bestContribution = -Double.infinity
            for (position, index) in candidates.enumerated() {
                let contribution = (corners[position][0] - points[index][0]) * (corners[position][1] - points[index][1])
                if contribution > bestContribution { (best, bestContribution) = (position, contribution) }
            }
            let chosen = points[candidates[best]]
            selected.append(candidates[best])
            candidates.remove(at: best)
            corners.remove(at: best)
            for position in corners.indices {
                if position < best { corners[position][0] = min(chosen[0], corners[position][0]) }
                else { corners[position][1] = min(chosen[1], corners[position][1]) }
            }
        }
        return selected
    }
}
