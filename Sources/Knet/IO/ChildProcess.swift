#if canImport(Glibc)
import Glibc
#endif

// Child processes with posix_spawn rather than Foundation's Process, so that the core
// library (and the static knet-bench built on it) stays Foundation-free: curl for dataset
// downloads, the peer benchmark scripts, the checkpoint kill test's writer.

/// What a finished child process left: its exit status (128 + the signal number when a
/// signal ended it) and, when collected, everything it wrote.
package struct ProcessResult {
    package var status: Int32
    package var stdout: String
    package var stderr: String
}

/// A running child process (`spawnProcess`): signal it, read its output pipes, wait for it.
/// Wait for every process spawned, or it stays a zombie until this process ends.
package struct SpawnedProcess {
    /// Its process id.
    package let pid: pid_t
    /// Read ends of pipes from its standard output and error (-1 when not piped); the
    /// caller closes them.
    package let stdout: Int32, stderr: Int32

    /// Sends `signal` (e.g. `SIGKILL`).
    ///
    ///     child.signal(SIGKILL)
    package func signal(_ signal: Int32) { _ = kill(pid, signal) }

    /// Waits for the process to end and returns its status (128 + the signal number when
    /// a signal ended it).
    ///
    ///     let status = try child.wait()   // 137 after SIGKILL
    package func wait() throws -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw FileIOError("waitpid", "pid \(pid)") }
        }
        let signal = status & 0x7f
        return signal != 0 ? 128 + signal : (status >> 8) & 0xff
    }
}

/// Starts `arguments` (the first is looked up on PATH) with this process's environment
/// plus `environment` (which wins), its standard output and error piped back when
/// `pipeOutput` (otherwise they are the caller's). Throws `FileIOError` when it cannot start.
///
///     let child = try spawnProcess(["sleep", "10"]); child.signal(SIGKILL); _ = try child.wait()
package func spawnProcess(_ arguments: [String], environment: [String: String] = [:],
                          pipeOutput: Bool = false) throws -> SpawnedProcess {
    guard let program = arguments.first else { throw FileIOError("posix_spawn", "(no program)", code: EINVAL) }
    var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if pipeOutput {
        guard pipe(&out) == 0 else { throw FileIOError("pipe", program) }
        guard pipe(&err) == 0 else { let e = FileIOError("pipe", program); close(out[0]); close(out[1]); throw e }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        for fd in out + err { posix_spawn_file_actions_addclose(&actions, fd) }
    }
    var inherited: [String] = []
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if !environment.keys.contains(where: { s.hasPrefix($0 + "=") }) { inherited.append(s) }
        p += 1
    }
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = (inherited + environment.map { "\($0.key)=\($0.value)" }).map { strdup($0) } + [nil]
    defer { for p in argv + envp { free(p) } }
    var pid = pid_t()
    let started = posix_spawnp(&pid, program, &actions, nil, argv, envp)
    if pipeOutput { close(out[1]); close(err[1]) }
    guard started == 0 else {
        if pipeOutput { close(out[0]); close(err[0]) }
        throw FileIOError("posix_spawn", program, code: started)
    }
    return SpawnedProcess(pid: pid, stdout: out[0], stderr: err[0])
}

/// Runs `arguments` (the first is looked up on PATH) to completion. With
/// `collectOutput`, its standard output and error are read through pipes (both drained
/// together, so neither fills up and blocks the child); otherwise they are the caller's.
/// Throws `FileIOError` when the program cannot be started.
///
///     let r = try runProcess(["python3", "-c", "print(1)"], collectOutput: true)   // r.stdout == "1\n"
package func runProcess(_ arguments: [String], collectOutput: Bool = false) throws -> ProcessResult {
    let child = try spawnProcess(arguments, pipeOutput: collectOutput)
    var collected: [[UInt8]] = [[], []]
    if collectOutput {
        defer { close(child.stdout); close(child.stderr) }   // before waiting: a child blocked on a full pipe then ends
        var fds = [pollfd(fd: child.stdout, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: child.stderr, events: Int16(POLLIN), revents: 0)]
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
    }
    let status = try child.wait()
    return ProcessResult(status: status, stdout: String(decoding: collected[0], as: UTF8.self),
                         stderr: String(decoding: collected[1], as: UTF8.self))
}
