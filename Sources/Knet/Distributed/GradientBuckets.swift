/// How data-parallel training groups gradients into flat buckets, one all-reduce each
/// (PyTorch DDP's `compute_bucket_assignment_by_size`): tensors are taken in reverse
/// parameter order — the order the backward pass finishes them — into one open bucket
/// per dtype and device; a bucket closes once it holds at least its limit (the first
/// bucket of each kind `firstBucketBytes`, later ones `bucketBytes`), so a tensor larger
/// than the limit sits alone. Buckets are numbered in the order they close (the open
/// ones last), which is the order their all-reduces start on every process.
///
///     let plan = BucketPlan([(count: 10, dtype: .float32, device: .cpu), (count: 5, dtype: .float32, device: .cpu)],
///                           firstBucketBytes: 16, bucketBytes: 1 << 20)
///     plan.buckets.map(\.slots.count)   // [1, 1]: tensor 1 (20 bytes) closes the first bucket
struct BucketPlan: Equatable {
    /// One tensor's place in a bucket: elements `offset..<offset+count`.
    struct Slot: Equatable {
        let tensor: Int
        let offset: Int
        let count: Int
    }

    /// One flat buffer and the tensors it holds, in the order they were added.
    struct Bucket: Equatable {
        let dtype: DType
        let device: Device
        var slots: [Slot] = []
        /// Elements in all.
        var count = 0
        var bytes: Int { count * dtype.size }
    }

    /// The buckets, in launch order.
    let buckets: [Bucket]
    /// For each tensor, its bucket and the slot within it.
    let location: [(bucket: Int, slot: Int)]

    /// The plan for tensors of these element counts, dtypes and devices (parameter order).
    init(_ tensors: [(count: Int, dtype: DType, device: Device)], firstBucketBytes: Int, bucketBytes: Int) {
        struct Key: Hashable { let dtype: DType; let device: Device }
        var open: [Key: Bucket] = [:], openOrder: [Key] = [], closedCount: [Key: Int] = [:]
        var closed: [Bucket] = []
        for k in tensors.indices.reversed() {
            let t = tensors[k], key = Key(dtype: t.dtype, device: t.device)
            if open[key] == nil { open[key] = Bucket(dtype: t.dtype, device: t.device); openOrder.append(key) }
            open[key]!.slots.append(Slot(tensor: k, offset: open[key]!.count, count: t.count))
            open[key]!.count += t.count
            let limit = closedCount[key, default: 0] == 0 ? firstBucketBytes : bucketBytes
            if open[key]!.bytes >= limit {
                closed.append(open.removeValue(forKey: key)!)
                openOrder.removeAll { $0 == key }
                closedCount[key, default: 0] += 1
            }
        }
        buckets = closed + openOrder.map { open[$0]! }
        var location = [(bucket: Int, slot: Int)](repeating: (0, 0), count: tensors.count)
        for (b, bucket) in buckets.enumerated() {
            for (s, slot) in bucket.slots.enumerated() { location[slot.tensor] = (b, s) }
        }
        self.location = location
    }

    static func == (a: BucketPlan, b: BucketPlan) -> Bool { a.buckets == b.buckets }
}
