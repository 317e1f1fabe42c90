#if canImport(Glibc)
import Glibc
#endif

// Peer scripts are run with posix_spawn rather than Foundation's Process, so that the
// static knet-bench stays small enough to carry to a GPU machine.

/// Runs `python3 <peers>/<script> <arguments>` and returns the `key=value` fields of its
/// result line for benchmark `name`, or nil (with the reason on stderr) when the peer is
/// absent or fails.
func runPeer(script: String, peers: String, arguments: [String], name: String) -> [String: String]? {
    let path = (peers.hasSuffix("/") ? peers : peers + "/") + script
    guard access(path, R_OK) == 0 else {
        fputs("knet-bench: \(path) not found; skipping the comparison\n", stderr)
        return nil
    }
    guard let (status, output, errors) = spawnAndCollect(["python3", path] + arguments) else {
        fputs("knet-bench: cannot run python3 \(path)\n", stderr)
        return nil
    }
    guard status == 0, let line = output.split(separator: "\n").first(where: { $0.hasPrefix(name + " ") }) else {
        let tail = errors.split(separator: "\n").suffix(3).joined(separator: "\n")
        fputs("knet-bench: \(script) failed (is the peer installed? see \(peers)/README.md)\n\(tail)\n", stderr)
        return nil
    }
    var fields: [String: String] = [:]
    for part in line.split(separator: " ") {
        let kv = part.split(separator: "=", maxSplits: 1)
        if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
    }
    return fields
}

/// Runs `command` (found on PATH), returning its exit status, stdout and stderr; nil
/// when it cannot be started. (The peer scripts find their data relative to themselves.)
private func spawnAndCollect(_ command: [String]) -> (Int32, String, String)? {
    var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
    guard pipe(&out) == 0, pipe(&err) == 0 else { return nil }
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
    var stdoutBytes: [UInt8] = [], stderrBytes: [UInt8] = []
    var fds = [pollfd(fd: out[0], events: Int16(POLLIN), revents: 0), pollfd(fd: err[0], events: Int16(POLLIN), revents: 0)]
    var open = 2
    var buffer = [UInt8](repeating: 0, count: 65536)
    while open > 0 {
        guard poll(&fds, 2, -1) >= 0 else { break }
        for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
            let n = read(fds[i].fd, &buffer, buffer.count)
            if n <= 0 { fds[i].fd = -1; open -= 1; continue }
            if i == 0 { stdoutBytes += buffer[0..<n] } else { stderrBytes += buffer[0..<n] }
        }
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let exited = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exited, String(decoding: stdoutBytes, as: UTF8.self), String(decoding: stderrBytes, as: UTF8.self))
}
