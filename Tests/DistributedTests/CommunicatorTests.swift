import Distributed
import Testing

/// Without a launcher the world is this process alone, MPI untouched, collectives identities.
/// (Two ranks are checked by `Tests/MPICheck` under mpirun.)
@Suite(.serialized) struct SingleProcessCommunicatorTests {
    @Test func worldOfOne() throws {
        let world = try Communicator.world()
        #expect(world.rank == 0 && world.size == 1 && world.isRoot && !world.usesMPI)
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
