// A second process for the run-directory lock tests:
//   fairtune-lock-check DIR [STALE_SECONDS]
// takes DIR's lock, prints "locked PID", holds it until standard input closes, then releases it.
// Exits 1 with the lock's message when the lock is held by another live process.
import Foundation
import RunLock

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: fairtune-lock-check DIR [STALE_SECONDS]\n".utf8))
    exit(2)
}
let staleAfter = arguments.count >= 3 ? Double(arguments[2]) ?? 600 : 600
do {
    let lock = try RunDirectoryLock(directory: arguments[1], staleAfter: staleAfter, refreshEvery: 0.2)
    FileHandle.standardOutput.write(Data("locked \(getpid())\n".utf8))
    _ = FileHandle.standardInput.readDataToEndOfFile()
    lock.release()
    exit(0)
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
