import Foundation
import XCTest
@testable import Knet

/// The backend boundary of DESIGN.md, checked on the sources: tensor memory is touched
/// as host pointers only inside `Backends/CPU` and as device addresses only inside
/// `Backends/CUDA`; everything else goes through `ComputeBackend` or the host-copy
/// doors of `Backends/CPU/HostAccess.swift`.
final class BackendBoundaryTests: XCTestCase {
    /// Every Swift file of the Knet target with its path relative to `Sources/Knet`.
    private func sources() throws -> [(path: String, text: String)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/Knet").standardized
        let walker = try XCTUnwrap(FileManager.default.enumerator(atPath: root.path))
        return try walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map { relative in
            (relative, try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8))
        }
    }

    func testHostPointersOnlyInsideTheCPUBackend() throws {
        let files = try sources()
        XCTAssertGreaterThan(files.count, 50)
        let hostAccess = [".pointer(", "storage.pointer", "storage.typed(", "case .host("]
        for (path, text) in files where !path.hasPrefix("Backends/CPU/") && path != "Tensor/Storage.swift" {
            for pattern in hostAccess where text.contains(pattern) {
                XCTFail("\(path) uses \(pattern): tensor memory outside Backends/CPU must go through the backend")
            }
        }
    }

    func testDeviceAddressesOnlyInsideTheCUDABackend() throws {
        for (path, text) in try sources() where !path.hasPrefix("Backends/CUDA/") && path != "Tensor/Storage.swift" {
            XCTAssertFalse(text.contains("case .cuda("), "\(path) reads a device address outside Backends/CUDA")
        }
    }
}
