#if canImport(Glibc)
import Glibc
#endif

// Peer scripts are run with posix_spawn rather than Foundation's Process, so that the
// static knet-bench stays small enough to carry to a GPU machine.

/// What a finished child process left: its exit status (128 + signal when killed) and
/// everything it wrote.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `command` (the first element is looked up on PATH) to completion, collecting its
/// output; nil when it cannot be started.
///
///     let r = runCollecting(["python3", "-c", "print(1)"])   // r?.stdout == "1\n"
func runCollecting(_ command: [String]) -> ProcessResult? {
    guard !command.isEmpty else { return nil }
    var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
    guard pipe(&out) == 0 else { return nil }
    guard pipe(&err) == 0 else { close(out[0]); close(out[1]); return nil }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, out[1], 1)
    posix_spawn_file_actions_adddup2(&actions, err[1], 2)
    for fd in out + err { posix_spawn_file_actions_addclose(&actions, fd) }
    let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid = pid_t()
    let started = posix_spawnp(&pid, command[0], &actions, nil, argv, environ)
    close(out[1]); close(err[1])
    defer { close(out[0]); close(err[0]) }
    guard started == 0 else { return nil }
    // Drain both pipes with poll so that neither fills up and blocks the child.
    var collected: [[UInt8]] = [[], []]
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
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let signal = status & 0x7f
    return ProcessResult(status: signal != 0 ? 128 + signal : (status >> 8) & 0xff,
                         stdout: String(decoding: collected[0], as: UTF8.self),
                         stderr: String(decoding: collected[1], as: UTF8.self))
}
