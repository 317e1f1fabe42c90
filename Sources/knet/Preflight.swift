import ArgumentParser
import Foundation
import Knet

// Checks of the command line that touch the file system, made before any data is loaded
// or any training starts, so that a run is not lost to a typo found at its end.

/// Throws a `ValidationError` naming `flag` when `path` cannot be written atomically
/// (a missing or read-only folder, or a folder in its place).
///
///     try checkWritable("/nonexistent/dir/x", flag: "--save")
///     // "--save /nonexistent/dir/x: cannot write there: No such file or directory"
func checkWritable(_ path: String, flag: String) throws {
    do { try checkAtomicWrite(to: path) } catch let e as FileIOError {
        throw ValidationError("\(flag) \(path): cannot write there: \(String(cString: strerror(e.code)))")
    }
}

/// Throws a `ValidationError` when `--data` names no folder.
///
///     try checkDataFolder("/nonexistent")   // "--data /nonexistent: no such folder"
func checkDataFolder(_ path: String?) throws {
    guard let path else { return }
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
        throw ValidationError("--data \(path): no such folder")
    }
    guard isFolder.boolValue else { throw ValidationError("--data \(path): not a folder") }
}

/// Reads the checkpoint `path` into parameters shaped as `template`, restoring the
/// optimizers' state; a file that does not fit (a tensor missing or of another shape) is
/// a `ValidationError` naming the model, the tensor and both shapes.
///
///     w = try loadFitting("mlp.safetensors", into: w, optimizers: opt, model: "mlp 784-64-10")
func loadFitting(_ path: String, into template: [Tensor], optimizers: [any Optimizer], model: String) throws -> [Tensor] {
    do {
        return try loadCheckpoint(path, into: template, optimizers: optimizers).params
    } catch let e as SafeTensorsError {
        switch e {
        case .shapeMismatch, .missingTensor:
            throw ValidationError("--load \(path) does not fit the \(model) model: \(e)")
        default:
            throw ValidationError("--load \(path): \(e)")
        }
    } catch let e as FileIOError {
        throw ValidationError("--load \(path): \(e)")
    }
}
