#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A grow-only, 64-byte-aligned scratch buffer owned by one thread, so that packing
/// allocates nothing once a thread has seen its largest product.
final class PackingBuffer {
    private var pointer: UnsafeMutableRawPointer?
    private var capacity = 0

    deinit { free(pointer) }

    /// This thread's buffer, holding at least `bytes` bytes (old contents are lost).
    static func forCurrentThread(bytes: Int) -> UnsafeMutableRawPointer {
        let buffer: PackingBuffer
        if let existing = pthread_getspecific(packingBufferKey) {
            buffer = Unmanaged<PackingBuffer>.fromOpaque(existing).takeUnretainedValue()
        } else {
            buffer = PackingBuffer()
            pthread_setspecific(packingBufferKey, Unmanaged.passRetained(buffer).toOpaque())
        }
        if buffer.capacity < bytes {
            free(buffer.pointer)
            buffer.pointer = nil
            guard posix_memalign(&buffer.pointer, 64, bytes) == 0, let p = buffer.pointer else {
                fatalError("KnetGEMM: cannot allocate \(bytes) bytes of packing buffer")
            }
            buffer.pointer = p
            buffer.capacity = bytes
        }
        return buffer.pointer!
    }
}

/// The thread-local slot of `PackingBuffer`; the buffer is released when its thread exits.
private let packingBufferKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { Unmanaged<PackingBuffer>.fromOpaque($0!).release() }
    precondition(status == 0, "KnetGEMM: pthread_key_create failed")
    return key
}()

/// The number of online cores (at least 1).
func onlineCores() -> Int {
    max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}
