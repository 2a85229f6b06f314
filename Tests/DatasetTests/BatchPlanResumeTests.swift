import Dataset
import XCTest

/// A resumed epoch reads exactly the batches the uninterrupted epoch had left.
final class BatchPlanResumeTests: XCTestCase {
    func testDroppingBatchesKeepsTheRemainingBatches() {
        for rank in 0..<2 {
            let plan = BatchPlan.training(count: 53, globalBatchSize: 8, rank: rank, rankCount: 2, seed: 7, epoch: 3)
            for dropped in 0...plan.batchCount {
                let rest = plan.droppingBatches(dropped)
                XCTAssertEqual(rest.batchCount, plan.batchCount - dropped)
                XCTAssertEqual(rest.epoch, plan.epoch)
                for b in 0..<rest.batchCount { XCTAssertEqual(Array(rest.batch(b)), Array(plan.batch(dropped + b))) }
            }
        }
    }
}
