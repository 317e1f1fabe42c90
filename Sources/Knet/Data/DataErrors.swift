/// What went wrong while finding, downloading or reading a data file. Every case names
/// the file, and the message (`description`) says what to do about it.
///
///     do { let d = try mnist() } catch { print(error) }   // "MNIST file … not found …"
public enum DataError: Error, Equatable, CustomStringConvertible {
    /// A data file is in none of the searched places and could not be downloaded.
    /// `searched` lists the paths looked at, `destination` where to put the file by hand,
    /// `attempts` each URL tried and why it failed.
    case notFound(file: String, searched: [String], destination: String, urls: [String], attempts: [String])
    /// Fetching `url` failed (no network, no `curl`, an HTTP error...).
    case downloadFailed(url: String, reason: String)
    /// A downloaded file's SHA-256 differs from the pinned sum (the file was not kept).
    case checksumMismatch(file: String, url: String, expected: String, actual: String)
    /// A file could not be opened, read or written (`reason` is the system's message).
    case io(path: String, reason: String)
    /// A file was read but its content is not what its format requires.
    case corrupt(path: String, reason: String)

    /// A readable, actionable message.
    public var description: String {
        switch self {
        case let .notFound(file, searched, destination, urls, attempts):
            var s = "data file \(file) not found (looked in: \(searched.joined(separator: ", ")))"
            if !attempts.isEmpty { s += "; download failed: \(attempts.joined(separator: "; "))" }
            let folder = file.split(separator: "/").dropLast().joined(separator: "/")
            s += ". Download it from \(urls.joined(separator: " or ")) and put it at \(destination)"
            s += " (or in $KNET_DATA/\(folder))."
            return s
        case let .downloadFailed(url, reason):
            return "download of \(url) failed: \(reason)"
        case let .checksumMismatch(file, url, expected, actual):
            return "\(file) downloaded from \(url) has SHA-256 \(actual), expected \(expected); the download was discarded"
        case let .io(path, reason):
            return "cannot access \(path): \(reason)"
        case let .corrupt(path, reason):
            return "\(path) is corrupt or not in the expected format: \(reason)"
        }
    }
}

/// Why a gzip or DEFLATE stream could not be decoded (see `gunzip`, `inflate`).
enum InflateError: Error, Equatable, CustomStringConvertible {
    /// The input ended before the stream did.
    case truncated
    /// The bytes break the gzip or DEFLATE format (the message says where).
    case invalid(String)
    /// The decoded data fails the stream's CRC-32 or length check.
    case checksum(String)
    /// The output would exceed the allowed size.
    case tooLarge(limit: Int)

    var description: String {
        switch self {
        case .truncated: return "compressed data is truncated"
        case .invalid(let why): return "invalid compressed data: \(why)"
        case .checksum(let why): return "decompressed data fails its check: \(why)"
        case .tooLarge(let limit): return "decompressed data exceeds the limit of \(limit) bytes"
        }
    }
}
