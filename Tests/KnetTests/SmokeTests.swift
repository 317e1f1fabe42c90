import XCTest
@testable import Knet

final class SmokeTests: DeviceTestCase {
    func testErrorTrap() {
        assertKnetError("+", "[2, 3]", "[3, 2]") { _ = Tensor.zeros(2, 3) + Tensor.zeros(3, 2) }
        XCTAssertNil(knetError { _ = Tensor.zeros(2, 3) + Tensor.zeros(2, 3) })
    }
}
