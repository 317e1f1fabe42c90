#if canImport(Glibc)
import Glibc
#endif

// Verified downloads stay verified. After a download passes its SHA-256 check, a stamp
// `.<name>.verified` beside it records the sum and the file's identity (size, mtime,
// ctime, inode, device). A later lookup trusts the cached file only while the stamp
// matches it; any change made through the file system (a truncation, an overwrite, a
// copy over it, even with its mtime set back, which moves the ctime) sends the file
// through the SHA-256 check again, and a file that fails it is fetched again. Hashing
// MNIST on every lookup would cost about half a second; comparing a stamp costs a stat.
// (Corruption below the file system, bit rot with no write, is the disk's to catch.)

/// The stamp's path for the cached file at `path`.
func cacheStampPath(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return ".\(path).verified" }
    return "\(path[...slash]).\(path[path.index(after: slash)...]).verified"
}

/// The stamp text of the file at `path` as it is now, for a content of SHA-256 `sha256`;
/// nil when it cannot be stat'ed.
private func cacheStamp(_ path: String, sha256: String) -> String? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return "\(sha256) size=\(st.st_size) mtime=\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) "
        + "ctime=\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec) inode=\(st.st_ino) device=\(st.st_dev)\n"
}

/// Records that the file at `path` now holds content of SHA-256 `sha256` (best effort:
/// without a stamp the next lookup only hashes the file again).
func stampVerified(_ path: String, sha256: String) {
    guard let stamp = cacheStamp(path, sha256: sha256) else { return }
    try? writeFileAtomically(Array(stamp.utf8), to: cacheStampPath(path))
}

/// Whether the cached file at `path` holds `file`'s content: its stamp matches it, or
/// its SHA-256 does (then it is stamped). False when it does not (the stamp is removed).
func verifiedCache(_ path: String, _ file: DatasetFile) throws -> Bool {
    let stampPath = cacheStampPath(path)
    if let stamp = cacheStamp(path, sha256: file.sha256),
       let recorded = try? readDataFile(stampPath), recorded == Array(stamp.utf8) {
        return true
    }
    guard SHA256.hash(try readDataFile(path)).hex == file.sha256 else {
        unlink(stampPath)
        return false
    }
    stampVerified(path, sha256: file.sha256)
    return true
}
