import Synchronization

/// Counters for `GET /metrics`, written in the Prometheus text format (version 0.0.4) by hand:
/// a handful of counters does not need a metrics library.
public final class ServeMetrics: Sendable {
    private struct Counters {
        /// (trigger, status) -> requests answered.
        var requests: [String: [Int: Int]] = [:]
        /// kind -> runs started.
        var started: [String: Int] = [:]
        /// reason -> triggers refused (nothing started).
        var refused: [String: Int] = [:]
        var missedSchedules = 0
    }

    private let counters = Mutex(Counters())

    public init() {}

    /// One answered request; `trigger` is `webhook`, `alertmanager`, `healthz`, `metrics` or `other`.
    public func request(_ trigger: String, status: Int) {
        counters.withLock { $0.requests[trigger, default: [:]][status, default: 0] += 1 }
    }

    /// A run started by a trigger of `kind`.
    public func started(_ kind: StartedByKindName) {
        counters.withLock { $0.started[kind.rawValue, default: 0] += 1 }
    }

    /// A trigger that started nothing, and why (`unauthenticated`, `replayed`, `over_limit`, ...).
    public func refused(_ reason: String) {
        counters.withLock { $0.refused[reason, default: 0] += 1 }
    }

    /// Schedule fires skipped because they passed while the server was not running or asleep.
    public func missed(_ count: Int) {
        counters.withLock { $0.missedSchedules += count }
    }

    /// The exposition text; `running` is the number of runs started here that have not ended
    /// (running, or waiting at a gate for approval); `waiting`, by kind, the runs started by a
    /// trigger that now wait at a gate (nil when the ledger could not be read: left out).
    public func text(running: Int, waiting: [StartedByKindName: Int]?) -> String {
        counters.withLock { c in
            var out =
                "# HELP wpk_serve_requests_total HTTP requests answered, by trigger and status.\n# TYPE wpk_serve_requests_total counter\n"
            for trigger in c.requests.keys.sorted() {
                for status in c.requests[trigger]!.keys.sorted() {
                    out += "wpk_serve_requests_total{trigger=\"\(trigger)\",status=\"\(status)\"} \(c.requests[trigger]![status]!)\n"
                }
            }
            out += "# HELP wpk_serve_runs_started_total Runs started, by trigger kind.\n# TYPE wpk_serve_runs_started_total counter\n"
            for kind in StartedByKindName.allCases {
                out += "wpk_serve_runs_started_total{kind=\"\(kind.rawValue)\"} \(c.started[kind.rawValue] ?? 0)\n"
            }
            out +=
                "# HELP wpk_serve_runs_in_progress Runs started by this server that have not ended (running or waiting for approval).\n# TYPE wpk_serve_runs_in_progress gauge\n"
            out += "wpk_serve_runs_in_progress \(running)\n"
            if let waiting {
                out +=
                    "# HELP wpk_serve_runs_waiting Runs started by a trigger that now wait at a gate for approval, by trigger kind (from the ledger).\n# TYPE wpk_serve_runs_waiting gauge\n"
                for kind in StartedByKindName.allCases {
                    out += "wpk_serve_runs_waiting{kind=\"\(kind.rawValue)\"} \(waiting[kind] ?? 0)\n"
                }
            }
            out +=
                "# HELP wpk_serve_triggers_refused_total Triggers that started nothing, by reason.\n# TYPE wpk_serve_triggers_refused_total counter\n"
            for reason in c.refused.keys.sorted() {
                out += "wpk_serve_triggers_refused_total{reason=\"\(reason)\"} \(c.refused[reason]!)\n"
            }
            out +=
                "# HELP wpk_serve_schedule_fires_missed_total Schedule fires skipped (not caught up).\n# TYPE wpk_serve_schedule_fires_missed_total counter\n"
            out += "wpk_serve_schedule_fires_missed_total \(c.missedSchedules)\n"
            return out
        }
    }
}

/// The trigger kinds runs are counted by (`StartedBy.Kind` without `cli`).
public enum StartedByKindName: String, Sendable, CaseIterable {
    case webhook, alertmanager, schedule
}
