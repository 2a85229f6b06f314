import Distributed
import Testing

/// Without a launcher MPI runs as a singleton: a world of one whose collectives are identities.
/// (Two ranks are checked by `Tests/MPICheck` under mpirun.)
@Suite(.serialized) struct SingletonCommunicatorTests {
    @Test func worldOfOne() throws {
        let world = try Communicator.world()
        #expect(world.rank == 0 && world.size == 1 && world.isRoot)
        #expect(try Communicator.world() === world)
        #expect(Communicator.libraryVersion.contains("MPI"))
    }

    @Test func collectivesAreIdentities() throws {
        let world = try Communicator.world()
        var values: [Float] = [1, -2, 3.5]
        try world.allReduceSum(&values)
        #expect(values == [1, -2, 3.5])
        var doubles: [Double] = [0.25]
        try world.allReduceSum(&doubles)
        #expect(doubles == [0.25])
        #expect(try world.allReduceMax(-3) == -3)
        var broadcast: [Int64] = [9, 8]
        try world.broadcast(&broadcast)
        #expect(broadcast == [9, 8])
        #expect(try world.gather([Double(1), 2]) == [[1, 2]])
        #expect(try world.gather([Int32]()) == [[]])
        try world.barrier()
    }
}
