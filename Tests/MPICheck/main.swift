// Checks the Communicator across real MPI ranks; run as
//   mpirun --allow-run-as-root -n 2 .build/debug/fairtune-mpi-check
// Every rank checks what it received and prints one verdict line; the exit status is non-zero
// if any check failed on any rank.
import Distributed
import Foundation

let world: MPICommunicator
do { world = try MPICommunicator.world() } catch {
    print("error: \(error)")
    exit(1)
}
var passed = 0, failed = 0
@MainActor func check(_ ok: Bool, _ what: String) {
    if ok { passed += 1 } else { failed += 1; print("[rank \(world.rank)/\(world.size)] FAILED: \(what)") }
}

let n = world.size, r = world.rank
check(n >= 2, "world size \(n), expected at least 2 (run under mpirun -n 2)")

// allReduceSum over a large buffer: element i of rank r holds r + i/1000.
var values = (0..<100_000).map { Float(r) + Float($0 % 1000) / 1000 }
try world.allReduceSum(&values)
let rankSum = Float(n * (n - 1) / 2)
check((0..<values.count).allSatisfy { abs(values[$0] - (rankSum + Float(n) * Float($0 % 1000) / 1000)) < 1e-3 },
      "allReduceSum Float")
var doubles = [Double(r + 1), 0.5]
try world.allReduceSum(&doubles)
check(doubles == [Double(n * (n + 1) / 2), 0.5 * Double(n)], "allReduceSum Double \(doubles)")
check(try world.allReduceMax(Double(r) * 2) == Double(2 * (n - 1)), "allReduceMax")

// broadcast: the root's array, of a length the others do not know.
var message: [Int64] = r == 0 ? [7, 11, 13] : []
try world.broadcast(&message)
check(message == [7, 11, 13], "broadcast \(message)")

// gather of variable sizes: rank r sends r+1 values.
let mine = (0...r).map { Double(r * 10 + $0) }
let gathered = try world.gather(mine)
if r == 0 {
    let expected = (0..<n).map { k in (0...k).map { Double(k * 10 + $0) } }
    check(gathered == expected, "gather \(String(describing: gathered))")
} else {
    check(gathered == nil, "gather returns nil off the root")
}
try world.barrier()

var totals = [Double(passed), Double(failed)]
try world.allReduceSum(&totals)
if world.isRoot { print("mpi: \(Int(totals[0])) passed, \(Int(totals[1])) failed") }
world.finalize()
exit(totals[1] == 0 ? 0 : 1)
