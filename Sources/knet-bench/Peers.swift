import Foundation

/// Runs a reference script of `../shared/peers/` and returns the `key=value` fields of
/// its result line for benchmark `name`, or nil (with the reason on stderr) when the
/// peer is absent or fails.
func runPeer(script: String, peers: String, arguments: [String], name: String) -> [String: String]? {
    let folder = URL(fileURLWithPath: peers).standardizedFileURL.path
    let path = folder + "/" + script
    guard FileManager.default.fileExists(atPath: path) else {
        FileHandle.standardError.write("knet-bench: \(path) not found; skipping the comparison\n".data(using: .utf8)!)
        return nil
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", path] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    let output = Pipe()
    process.standardOutput = output
    let errors = Pipe()
    process.standardError = errors
    do { try process.run() } catch {
        FileHandle.standardError.write("knet-bench: cannot run python3 \(path): \(error)\n".data(using: .utf8)!)
        return nil
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let diagnostics = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0,
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + " ") }) else {
        let tail = diagnostics.split(separator: "\n").suffix(3).joined(separator: "\n")
        FileHandle.standardError.write("knet-bench: \(script) failed (is the peer installed? see \(peers)/README.md)\n\(tail)\n".data(using: .utf8)!)
        return nil
    }
    var fields: [String: String] = [:]
    for part in line.split(separator: " ") {
        let kv = part.split(separator: "=", maxSplits: 1)
        if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
    }
    return fields
}
