import Foundation
import WPKCore

/// The signature trust of this machine, from its policy: what validate, plan, review and run
/// check playbook signatures against.
enum MachineTrust {
    static func load() -> PlaybookSignatureTrust {
        PlaybookSignatureTrust(policyStatus: MachinePolicy.load())
    }
}
