import Foundation

/// What a terminal reports to the runner.
public enum DeviceInput: Equatable, Sendable {
    case key(Key)
    case resize(Size)
    /// SIGTERM, SIGHUP or SIGINT arrived: restore the terminal and leave.
    case terminate
    /// The wait timed out (used to look at the ledger).
    case timeout
    /// The terminal is gone.
    case closed
}

/// A terminal the review UI runs on: the ncursesw painter, or a scripted device in tests.
public protocol TerminalDevice: AnyObject {
    /// The current size.
    var size: Size { get }
    /// Blocks until input arrives, or `timeout` seconds pass (nil: wait for input only; 0: only
    /// look whether input is waiting).
    func nextInput(timeout: Double?) -> DeviceInput
    /// Shows a frame (changing only what differs from the last one) and parks the cursor.
    func draw(_ screen: Screen)
}

/// Performs effects (loading files, writing decisions) and answers with events. No terminal.
public protocol ReviewBackend: AnyObject {
    /// Does one effect; `.quit` is handled by the runner and never reaches here.
    func perform(_ effect: Effect) -> [ReviewEvent]
    /// How often to look for ledger changes, in seconds; nil when there is no ledger to watch
    /// (the UI then sleeps until a key arrives).
    var ledgerPollInterval: Double? { get }
    /// Whether the ledger changed since the last call.
    func ledgerChanged() -> Bool
}

extension ReviewBackend {
    /// The wait before the next look at the ledger: the poll interval, shortened only to the
    /// moment a countdown on screen changes its text (a second below an hour, else a minute).
    func wait(for state: ReviewState, now: Date) -> Double? {
        guard state.showsCountdown, let change = state.nextCountdownChange else { return ledgerPollInterval }
        // An instant already past (the last tick was a while ago) wakes at once; the tick then renews the clock.
        let delay = max(0.01, change.timeIntervalSince(now))
        return min(ledgerPollInterval ?? delay, delay)
    }
}

/// The loop: input to event, update, effects to the backend, render, draw. Returns the final state
/// (its decisions make the exit summary).
public enum ReviewRunner {
    /// Runs until the state asks to quit or the terminal goes away.
    public static func run(device: TerminalDevice, backend: ReviewBackend, options: ReviewOptions) -> ReviewState {
        var state = ReviewState(options: options, size: device.size)
        var queue: [ReviewEvent] = [.tick(Date())]
        // Background effects wait here and run one at a time only while no input is waiting.
        var background: [Effect] = []
        queue.append(contentsOf: backend.perform(.loadList))
        while true {
            // Drain in order; effects' answers join the back of the queue.
            var index = 0
            while index < queue.count {
                let (next, effects) = update(state, queue[index])
                state = next
                index += 1
                for effect in effects where effect != .quit {
                    if effect.isBackground {
                        background.append(effect)
                    } else {
                        queue.append(contentsOf: backend.perform(effect))
                    }
                }
                if state.quitting { return state }
            }
            queue.removeAll(keepingCapacity: true)
            device.draw(render(state))
            let input = device.nextInput(timeout: background.isEmpty ? backend.wait(for: state, now: Date()) : 0)
            switch input {
            case .key(let key): queue.append(.key(key))
            case .resize(let size): queue.append(.resize(size))
            case .terminate, .closed: queue.append(.terminate)
            case .timeout:
                if !background.isEmpty {
                    queue.append(contentsOf: backend.perform(background.removeFirst()))
                } else {
                    if state.showsCountdown { queue.append(.tick(Date())) }
                    if backend.ledgerChanged() { queue.append(.ledgerChanged) }
                }
            }
        }
    }
}

/// The plain-text account of the session's decisions, printed after the terminal is restored so
/// it stays in the scrollback.
public enum SessionSummary {
    /// One line per decision, every playbook string sanitized.
    public static func text(_ decisions: [Decision], asciiOnly: Bool = false) -> String {
        if decisions.isEmpty { return "wpk review: no decisions were made in this session.\n" }
        var out = "wpk review: \(decisions.count) decision\(decisions.count == 1 ? "" : "s") made in this session:\n"
        for d in decisions {
            let v = { (s: String) in Sanitizer.visible(s, asciiOnly: asciiOnly) }
            out += "  \(d.kind.rawValue) step \(v(d.step)) of \(v(d.playbook)) (\(v(d.path))), plan \(v(d.planDigest))"
            if !d.reason.isEmpty { out += ", reason: \(v(d.reason))" }
            out += "\n"
        }
        return out
    }
}
