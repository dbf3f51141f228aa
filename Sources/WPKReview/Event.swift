import Foundation

/// A key as the review UI understands it, independent of any terminal library.
public enum Key: Hashable, Sendable {
    case character(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, tab, backTab
    /// Ctrl-C (the terminal is in raw mode, so it arrives as a key).
    case interrupt
}

/// Something that happened: input, a resize, or the answer to an effect.
public enum ReviewEvent: Sendable {
    case key(Key)
    case resize(Size)
    case listLoaded([PlaybookEntry])
    /// Entries of the list read in full, replacing those with the same paths.
    case entriesSummarized([PlaybookEntry])
    case detailLoaded(PlaybookDetail)
    /// The detail could not be loaded (the file vanished or became unreadable).
    case detailFailed(path: String, reason: String)
    case decisionRecorded(Decision)
    case decisionRefused(String)
    /// Another operator (or a run) wrote to the ledger.
    case ledgerChanged
    /// SIGTERM or SIGHUP: leave now, restoring the terminal.
    case terminate
    /// The runs in the ledger, as the Runs view lists them.
    case runsLoaded([RunRow])
    /// Why the ledger could not be read in full (refused, damaged), or nil when it was: the Runs
    /// view says so rather than show a ledger it could not read as empty.
    case ledgerProblem(String?)
    /// One run told in full, for its screen.
    case runLoaded(RunView)
    /// The run cannot be shown (no such run, the ledger is unreadable).
    case runFailed(id: String, reason: String)
    /// The wall clock, for countdowns (the update function has no clock of its own).
    case tick(Date)
    /// The planner's verdict on input values typed in the form: each input's problems, and those of no single input.
    case inputsChecked(path: String, values: [String: String], problems: [String: [String]], general: [String])
}

/// Work the update function asks the runtime to do; the backend answers with events.
public enum Effect: Equatable, Sendable {
    case loadList
    /// Read these listed files and answer `.entriesSummarized`; background work, done between frames.
    case summarize(paths: [String])
    case loadDetail(path: String)
    case approve(path: String, step: String, planDigest: String)
    case reject(path: String, step: String, planDigest: String, reason: String)
    case loadRuns
    case loadRun(id: String)
    /// A decision for the step a run waits at, bound to the run, its playbook digest and its plan digest.
    case decideRun(RunAction, run: String, step: String, playbookDigest: String, planDigest: String, reason: String)
    /// Check typed input values with the planner's rules; answered by `.inputsChecked`.
    case checkInputs(path: String, values: [String: String])
    /// Plan the playbook with these input values from now on (decisions then bind to that plan); answered by `.detailLoaded`.
    case planWithInputs(path: String, values: [String: String])
    case quit

    /// Whether the runner may defer this until no key is waiting, drawing frames in between.
    /// Loading the runs reads and verifies the whole ledger (about a second for 10,000 runs),
    /// so the first frame is drawn before it.
    public var isBackground: Bool {
        switch self {
        case .summarize, .loadRuns: return true
        default: return false
        }
    }
}
