#if canImport(Glibc)
import Glibc
#endif

// The GPU backend's whole-RNN calls through cuDNN (`FusedRNNBackend`): declined — and
// `rnnforw` then runs Knet's fused cells and LSTM sweep per layer and direction — when
// there is no cuDNN or no libcudnn_adv, a size is past C ints, or cuDNN refuses the
// configuration or maps the weights differently from `rnnparam`'s sizes.

/// The forward call's operands, descriptors and reserve space, kept for the backward pass.
final class CUDNNRNNReserve: RNNReserveSpace {
    let plan: CUDNNRecurrentPlan
    let xData: CUDNN.Descriptor, yData: CUDNN.Descriptor, states: CUDNN.Descriptor
    let x: Tensor, h0: Tensor?, c0: Tensor?, out: Tensor, weights: Tensor
    let sequenceLengths: Tensor, reserve: Tensor?, reserveBytes: Int, workBytes: Int
    let counts: (y: Int, h: Int), lstm: Bool

    init(plan: CUDNNRecurrentPlan, xData: CUDNN.Descriptor, yData: CUDNN.Descriptor, states: CUDNN.Descriptor,
         x: Tensor, h0: Tensor?, c0: Tensor?, out: Tensor, weights: Tensor, sequenceLengths: Tensor,
         reserve: Tensor?, reserveBytes: Int, workBytes: Int, counts: (y: Int, h: Int), lstm: Bool) {
        (self.plan, self.xData, self.yData, self.states) = (plan, xData, yData, states)
        (self.x, self.h0, self.c0, self.out, self.weights) = (x, h0, c0, out, weights)
        (self.sequenceLengths, self.reserve, self.reserveBytes, self.workBytes) = (sequenceLengths, reserve, reserveBytes, workBytes)
        (self.counts, self.lstm) = (counts, lstm)
    }
}

extension CUDABackend: FusedRNNBackend {
    func rnnForward(_ r: RNN, w: Tensor, x: Tensor, h0: Tensor?, c0: Tensor?, steps: [Int]) -> (out: Tensor, reserve: RNNReserveSpace)? {
        let (n, batch) = (x.shape[1], steps[0]), lstm = r.rnnType == .lstm
        guard let shape = CUDNNRecurrentShape(r, dtype: w.dtype), let t = Int32(exactly: steps.count),
              let b = Int32(exactly: batch), let layers = Int32(exactly: r.layerDirections),
              Int32(exactly: n * r.hiddenSize * r.directions) != nil else { return nil }
        return withCUDNN("cudnnRNNForward \(x.shape)") { dnn, h -> (out: Tensor, reserve: RNNReserveSpace)? in
            guard let calls = dnn.recurrent, let plan = recurrentPlan(r, shape, dnn, calls, h) else { return nil }
            let lengths = CUDNNRecurrentShape.sequenceLengths(steps)
            func data(_ vector: Int) throws -> CUDNN.Descriptor {
                let d = try CUDNN.Descriptor(calls.createData, calls.destroyData, "cudnnCreateRNNDataDescriptor", dnn.check)
                try dnn.check(calls.setData(d.pointer, dnn.dataType(w.dtype), 1, t, b, Int32(vector), lengths, nil),
                              "cudnnSetRNNDataDescriptor")       // CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED
                return d
            }
            guard let xData = try? data(r.inputSize), let yData = try? data(r.hiddenSize * r.directions),
                  let states = try? dnn.tensor([layers, b, shape.hiddenSize], w.dtype) else { return nil }
            var (workBytes, reserveBytes) = (0, 0)
            guard calls.tempSpaceSizes(h.handle, plan.descriptor.pointer, 1, xData.pointer, &workBytes, &reserveBytes) == 0
            else { return nil }
            let counts = (y: r.hiddenSize * r.directions * n, h: r.hiddenSize * batch * r.layerDirections)
            let flat = Tensor(uninitialized: [counts.y + (lstm ? 2 : 1) * counts.h], dtype: w.dtype, device: device)
            let weights = cudnnWeights(w, plan)
            let reserve = scratch(bytes: reserveBytes), work = scratch(bytes: workBytes)
            let sequenceLengths = int32s(lengths)
            let (y, hy, cy) = (address(flat), address(flat) + UInt64(counts.y * w.dtype.size),
                               lstm ? address(flat) + UInt64((counts.y + counts.h) * w.dtype.size) : 0)
            try dnn.check(calls.forward(h.handle, plan.descriptor.pointer, 1, raw(sequenceLengths), xData.pointer, raw(x),
                                        yData.pointer, out(y), states.pointer, raw(h0), out(hy), states.pointer, raw(c0), out(cy),
                                        plan.weightElements * w.dtype.size, raw(weights), workBytes, out(work), reserveBytes,
                                        out(reserve)), "cudnnRNNForward")
            dnn.calls.add(1, ordering: .relaxed)
            return (flat, CUDNNRNNReserve(plan: plan, xData: xData, yData: yData, states: states, x: x, h0: h0, c0: c0, out: flat,
                                         weights: weights, sequenceLengths: sequenceLengths, reserve: reserve,
                                         reserveBytes: reserveBytes, workBytes: workBytes, counts: counts, lstm: lstm))
        }
    }

    func rnnBackward(_ reserve: RNNReserveSpace, _ dout: Tensor) -> (dw: Tensor, dx: Tensor, dh0: Tensor?, dc0: Tensor?) {
        let s = reserve as! CUDNNRNNReserve
        let dtype = s.out.dtype, size = UInt64(dtype.size)
        let dx = Tensor(uninitialized: s.x.shape, dtype: dtype, device: device)
        let dh0 = s.h0.map { Tensor(uninitialized: $0.shape, dtype: dtype, device: device) }
        let dc0 = s.c0.map { Tensor(uninitialized: $0.shape, dtype: dtype, device: device) }
        let dweights = Tensor.zeros(shape: [s.plan.weightElements], dtype: dtype, device: device)
        let work = scratch(bytes: s.workBytes)
        let (dy, dhy) = (address(dout), address(dout) + UInt64(s.counts.y) * size)
        let dcy = s.lstm ? address(dout) + UInt64(s.counts.y + s.counts.h) * size : 0
        let (cx, dcx) = s.lstm ? (raw(s.c0), out(dc0)) : (nil, nil)
        let weightBytes = s.plan.weightElements * dtype.size
        let ran = withCUDNN("cudnnRNNBackward \(s.x.shape)") { dnn, h -> Bool? in
            let calls = dnn.recurrent!
            try dnn.check(calls.backwardData(h.handle, s.plan.descriptor.pointer, raw(s.sequenceLengths), s.yData.pointer,
                                             raw(s.out), raw(dy), s.xData.pointer, out(dx), s.states.pointer, raw(s.h0),
                                             raw(dhy), out(dh0), s.states.pointer, cx, s.lstm ? raw(dcy) : nil, dcx,
                                             weightBytes, raw(s.weights), s.workBytes, out(work), s.reserveBytes, out(s.reserve)),
                          "cudnnRNNBackwardData_v8")
            try dnn.check(calls.backwardWeights(h.handle, s.plan.descriptor.pointer, 0, raw(s.sequenceLengths), s.xData.pointer,
                                                raw(s.x), s.states.pointer, raw(s.h0), s.yData.pointer, raw(s.out),
                                                weightBytes, out(dweights), s.workBytes, out(work), s.reserveBytes, out(s.reserve)),
                          "cudnnRNNBackwardWeights_v8")
            dnn.calls.add(2, ordering: .relaxed)
            return true
        }
        guard ran == true else { knetFail("cudnnRNNBackward on \(device): cuDNN is no longer usable") }
        return (knetWeights(dweights, s.plan), dx, dh0, dc0)
    }

    // MARK: helpers

    /// The plan of `shape` on this device, made at first use (nil: cuDNN refused it).
    private func recurrentPlan(_ r: RNN, _ shape: CUDNNRecurrentShape, _ dnn: CUDNN, _ calls: CUDNNRecurrentCalls,
                               _ h: CUDNN.Handle) -> CUDNNRecurrentPlan? {
        let key = "\(shape) gpu\(gpu.ordinal)"
        if let known = dnn.recurrentPlans.withLock({ $0[key] }) { return known }
        var space: Tensor?
        let plan: CUDNNRecurrentPlan?
        do {
            plan = try CUDNNRecurrentPlan(r, shape, dnn: dnn, calls: calls, handle: h) { elements in
                space = Tensor(uninitialized: [Swift.max(elements, r.paramCount)], dtype: shape.dtype, device: device)
                return address(space!)
            }
        } catch {
            fputs("Knet: cuDNN cannot run the RNN \(shape) on \(device): \(error); using Knet's kernels\n", stderr)
            plan = nil
        }
        dnn.recurrentPlans.withLock { $0[key] = .some(plan) }
        return plan
    }

    /// `w` as cuDNN's weight space: itself when the layouts agree, else its pieces copied
    /// into a fresh (zeroed) space.
    private func cudnnWeights(_ w: Tensor, _ plan: CUDNNRecurrentPlan) -> Tensor {
        guard let pieces = plan.pieces else { return w }
        let space = Tensor.zeros(shape: [plan.weightElements], dtype: w.dtype, device: device)
        for p in pieces { copy(from: w.view(shape: [p.count], strides: nil, offset: w.offset + p.knet),
                               to: space.view(shape: [p.count], strides: nil, offset: space.offset + p.cudnn)) }
        return space
    }

    /// A gradient in cuDNN's weight space as Knet's `w` layout.
    private func knetWeights(_ space: Tensor, _ plan: CUDNNRecurrentPlan) -> Tensor {
        guard let pieces = plan.pieces else { return space }
        let total = pieces.reduce(0) { $0 + $1.count }
        let dw = Tensor(uninitialized: [total], dtype: space.dtype, device: device)
        for p in pieces { copy(from: space.view(shape: [p.count], strides: nil, offset: space.offset + p.cudnn),
                               to: dw.view(shape: [p.count], strides: nil, offset: dw.offset + p.knet)) }
        return dw
    }

    /// A device array of C ints.
    private func int32s(_ values: [Int32]) -> Tensor {
        let host = Tensor(uninitialized: [values.count], dtype: .float32, device: .cpu)
        host.withUnsafeMutableHostBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v, toByteOffset: 4 * i, as: Int32.self) }
        }
        return host.transferred(to: device)
    }

    /// The device address of `t`, or nil.
    private func raw(_ t: Tensor?) -> UnsafeRawPointer? { t.flatMap { UnsafeRawPointer(bitPattern: UInt(address($0))) } }
    /// A device address as a pointer (nil for 0).
    private func raw(_ a: UInt64) -> UnsafeRawPointer? { UnsafeRawPointer(bitPattern: UInt(a)) }
    /// The device address of `t` as a pointer cuDNN writes through, or nil.
    private func out(_ t: Tensor?) -> UnsafeMutableRawPointer? { t.flatMap { UnsafeMutableRawPointer(bitPattern: UInt(address($0))) } }
    /// A device address cuDNN writes through (nil for 0).
    private func out(_ a: UInt64) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(a)) }
}
