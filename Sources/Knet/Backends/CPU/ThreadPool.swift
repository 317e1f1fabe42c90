import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small pool of worker threads that spin briefly between jobs (yielding the core to
/// other runnable threads now and then), then sleep. Handing
/// work to a sleeping Dispatch worker costs tens of µs on these machines; a spinning
/// worker picks a job up in about a µs, which makes splitting 10-MFLOP products and
/// mid-sized elementwise loops worthwhile. There are `Parallel.threads − 1` workers
/// (the calling thread takes part), so the cores are never oversubscribed. One job
/// runs at a time: a call made while the pool is busy (from another thread, or from
/// inside a job) runs serially in its caller.
///
/// Thread safety: `run` may be called from any number of threads at once (an atomic flag
/// gives the pool to one job, the others run serially in their callers), and nothing a
/// job computes depends on which: work is split by size alone (`Parallel.reductionParts`),
/// so two models trained on two threads get the bits they get alone.
final class ThreadPool: @unchecked Sendable {
    /// The process-wide pool.
    static let shared = ThreadPool(workers: Parallel.threads - 1)

    /// One parallel loop: iterations are claimed with an atomic counter.
    final class Job: @unchecked Sendable {
        var body: ((Int) -> Void)?
        let count: Int
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        init(_ body: @escaping (Int) -> Void, _ count: Int) { self.body = body; self.count = count }

        /// Runs iterations until none are left; never touches `body` once all are claimed.
        func work() {
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                if i >= count { return }
                body!(i)
                done.add(1, ordering: .releasing)
            }
        }
    }

    private let workers: Int
    private let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private var current: Job?                 // guarded by `mutex`
    private var started = false               // guarded by `mutex`
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    /// How long an idle worker spins before it sleeps.
    private let spinSeconds = 0.0002

    private init(workers: Int) {
        self.workers = Swift.max(0, workers)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
    }

    /// Runs `body(0) ... body(count − 1)` on the workers and the caller and returns true,
    /// or returns false without running anything when the pool has no workers or is busy.
    func run(_ count: Int, _ body: (Int) -> Void) -> Bool {
        guard workers > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        defer { busy.store(false, ordering: .releasing) }
        startWorkersIfNeeded()
        withoutActuallyEscaping(body) { body in
            let job = Job(body, count)
            pthread_mutex_lock(&mutex)
            current = job
            pthread_mutex_unlock(&mutex)
            // Sequentially consistent with the sleeper's count-then-check below (a store then
            // a load on each side): one of the two always sees the other.
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            job.work()
            var spins = 0
            while job.done.load(ordering: .acquiring) < count {
                spinPause()
                spins += 1
                if spins & 255 == 0 { sched_yield() }    // let a descheduled worker finish its part
            }
            pthread_mutex_lock(&mutex)
            current = nil
            pthread_mutex_unlock(&mutex)
            job.body = nil      // a late worker may still hold the job, never the closure
        }
        return true
    }

    private func startWorkersIfNeeded() {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if started { return }
        started = true
        for _ in 0..<workers {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            pthread_create(&thread, nil, { raw in
                Unmanaged<ThreadPool>.fromOpaque(raw!).takeRetainedValue().workerLoop()   // never returns
            }, context)
            pthread_detach(thread)
        }
    }

    private func workerLoop() -> Never {
        var seen = generation.load(ordering: .acquiring)
        while true {
            // Spin for a while, then sleep until the generation changes.
            let deadline = monotonicSeconds() + spinSeconds
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spinPause()
                spins += 1
                if spins & 255 == 0 { sched_yield() }    // on a busy machine, give way to runnable threads
                if spins & 255 == 0 && monotonicSeconds() > deadline {
                    pthread_mutex_lock(&mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(&wake, &mutex) }
                    sleepers.subtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(&mutex)
                }
            }
            seen = generation.load(ordering: .acquiring)
            pthread_mutex_lock(&mutex)
            let job = current
            pthread_mutex_unlock(&mutex)
            job?.work()
        }
    }
}

/// Seconds on the monotonic clock.
@inline(__always) package func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// A short pause inside a spin loop.
@inline(__always) private func spinPause() {
    for _ in 0..<8 { _ = generationSink.load(ordering: .relaxed) }
}
private let generationSink = Atomic<Int>(0)
