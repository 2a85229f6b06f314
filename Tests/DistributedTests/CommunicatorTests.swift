import Distributed
import Testing

/// Without a launcher the world is this process alone, MPI untouched, collectives identities.
/// (Two ranks are checked by `Tests/MPICheck` under mpirun.)
@Suite(.serialized) struct SingleProcessCommunicatorTests {
    @Test func worldOfOne() throws {
        let world = try MPICommunicator.world()
        #expect(world.rank == 0 && world.size == 1 && world.isRoot && !world.usesMPI)
        #expect(try MPICommunicator.world() === world)
        #expect(MPICommunicator.libraryVersion.contains("MPI"))
    }

    @Test func collectivesAreIdentities() throws {
        let world = try MPICommunicator.world()
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

@Suite struct LaunchKindTests {
    @Test func readsTheLaunchersVariables() {
        #expect(LaunchKind(environment: [:]) == .single)
        #expect(LaunchKind(environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"]) == .mpi)
        #expect(LaunchKind(environment: ["PMIX_RANK": "0", "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "4"]) == .mpi)
        #expect(LaunchKind(environment: ["PMI_RANK": "3"]) == .mpi)
        // srun without --mpi=pmix: N plain tasks that would each believe they are alone.
        #expect(LaunchKind(environment: ["SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "2"]) == .unwiredSlurmStep(tasks: 2))
        // A batch script (no step) or a one-task step is a plain single process.
        #expect(LaunchKind(environment: ["SLURM_JOB_ID": "7", "SLURM_NTASKS": "2"]) == .single)
        #expect(LaunchKind(environment: ["SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "1"]) == .single)
    }
}

/// Threads as ranks: the same collectives as MPI's, inside `swift test`.
@Suite struct InProcessGroupTests {
    @Test(arguments: [1, 2, 3])
    func collectivesMatchMPIsDefinitions(size: Int) throws {
        let group = InProcessGroup(size: size)
        let results = try group.run { world -> [Double] in
            let r = world.rank
            var values: [Float] = [Float(r), 1, -Float(r) * 0.5]
            try world.allReduceSum(&values)
            var message: [Int64] = r == 0 ? [7, 8, 9] : []
            try world.broadcast(&message)
            let maximum = try world.allReduceMax(Double(r) * 2)
            let gathered = try world.gather([Int32](repeating: Int32(r), count: r + 1), root: 0)
            if r == 0 {
                #expect(gathered == (0..<size).map { [Int32](repeating: Int32($0), count: $0 + 1) })
            } else {
                #expect(gathered == nil)
            }
            try world.barrier()
            return values.map(Double.init) + message.map(Double.init) + [maximum]
        }
        let n = Double(size), rankSum = n * (n - 1) / 2
        for result in results {
            #expect(result == [rankSum, n, -rankSum * 0.5, 7, 8, 9, 2 * (n - 1)])
        }
    }

    @Test func eachRanksErrorReachesTheCaller() {
        struct Failure: Error {}
        let group = InProcessGroup(size: 2)
        #expect(throws: Failure.self) {
            _ = try group.run { world in
                if world.rank == 1 { throw Failure() }
                return world.rank
            }
        }
    }
}
