import Foundation
import WPKCore

/// The signature trust of this machine, from its policy: what validate, plan, review and run
/// check playbook signatures against.
enum MachineTrust {
    /// `rememberingVerdicts`: verified signatures are remembered in the user's cache
    /// (`signature-verified.log`), for `wpk validate` only; what decides (plan, run) verifies each time.
    static func load(rememberingVerdicts: Bool = false) -> PlaybookSignatureTrust {
        var trust = PlaybookSignatureTrust(policyStatus: MachinePolicy.load())
        if rememberingVerdicts { trust.rememberedVerdicts = VerdictLog.standard(kind: "signature-verified") }
        return trust
    }
}
