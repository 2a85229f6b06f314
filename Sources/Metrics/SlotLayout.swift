/// Where each sample is counted: slot 0 is the whole split, then one slot per group of each
/// attribute in order (attribute a, group g is slot `firstSlot[a] + g`).
///
/// Every statistic is accumulated per slot in one pass, so overall and per-group metrics of all
/// attributes come from the same loop.
struct SlotLayout: Sendable {
    /// 1 + the number of attributes: the slots one sample can belong to.
    let slotsPerSample: Int
    let slotCount: Int
    /// Per attribute, the slot index of its group 0.
    let firstSlot: [Int]
    /// [n, slotsPerSample] slot indices; -1 where the sample's group is unknown.
    let slotOf: [Int32]

    /// The slots of n samples with these attributes.
    init(sampleCount n: Int, attributes: [SensitiveAttribute]) {
        slotsPerSample = 1 + attributes.count
        var first: [Int] = []
        var next = 1
        for a in attributes {
            first.append(next)
            next += a.groupNames.count
        }
        firstSlot = first
        slotCount = next
        var slots = [Int32](repeating: -1, count: n * slotsPerSample)
        for i in 0..<n { slots[i * slotsPerSample] = 0 }
        for (a, attribute) in attributes.enumerated() {
            for i in 0..<n where attribute.codes[i] >= 0 {
                slots[i * slotsPerSample + 1 + a] = Int32(first[a]) + attribute.codes[i]
            }
        }
        slotOf = slots
    }
}
