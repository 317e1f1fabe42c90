#if canImport(Glibc)
import Glibc
#endif

// Child processes with posix_spawn rather than Foundation's Process, so that the core
// library (and the static knet-bench built on it) stays Foundation-free: curl for dataset
// downloads, the peer benchmark scripts.

/// What a finished child process left: its exit status (128 + the signal number when a
/// signal ended it) and, when collected, everything it wrote.
package struct ProcessResult {
    package var status: Int32
    package var stdout: String
    package var stderr: String
}

/// Runs `arguments` (the first is looked up on PATH) to completion. With
/// `collectOutput`, its standard output and error are read through pipes (both drained
/// together, so neither fills up and blocks the child); otherwise they are the caller's.
/// Throws `FileIOError` when the program cannot be started.
///
///     let r = try runProcess(["python3", "-c", "print(1)"], collectOutput: true)   // r.stdout == "1\n"
package func runProcess(_ arguments: [String], collectOutput: Bool = false) throws -> ProcessResult {
    guard let program = arguments.first else { throw FileIOError("posix_spawn", "(no program)", code: EINVAL) }
    var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if collectOutput {
        guard pipe(&out) == 0 else { throw FileIOError("pipe", program) }
        guard pipe(&err) == 0 else { let e = FileIOError("pipe", program); close(out[0]); close(out[1]); throw e }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        for fd in out + err { posix_spawn_file_actions_addclose(&actions, fd) }
    }
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid = pid_t()
    let started = posix_spawnp(&pid, program, &actions, nil, argv, environ)
    if collectOutput { close(out[1]); close(err[1]) }
    var collected: [[UInt8]] = [[], []]
    if collectOutput {
        defer { close(out[0]); close(err[0]) }        // before waiting: a child blocked on a full pipe then ends
        guard started == 0 else { throw FileIOError("posix_spawn", program, code: started) }
        var fds = [pollfd(fd: out[0], events: Int16(POLLIN), revents: 0), pollfd(fd: err[0], events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { fds[i].fd = -1; open -= 1; continue }
                collected[i] += buffer[0..<n]
            }
        }
    } else {
        guard started == 0 else { throw FileIOError("posix_spawn", program, code: started) }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw FileIOError("waitpid", program) }
    }
    let signal = status & 0x7f
    return ProcessResult(status: signal != 0 ? 128 + signal : (status >> 8) & 0xff,
                         stdout: String(decoding: collected[0], as: UTF8.self),
                         stderr: String(decoding: collected[1], as: UTF8.self))
}
