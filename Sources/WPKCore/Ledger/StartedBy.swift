/// How a run was started, as its `run_started` record says: by a person (`cli`) or by one of
/// `wpk serve`'s triggers. Informational: the record's `operator` (the OS account of the process
/// that wrote it) stays the authority on who ran it.
public struct StartedBy: Sendable, Equatable {
    /// `cli`, `webhook`, `alertmanager` or `schedule`.
    public enum Kind: String, Sendable, CaseIterable {
        case cli, webhook, alertmanager, schedule
    }

    /// The longest `trigger` and `source` texts kept (a trigger names a path, an alert or a cron).
    public static let maxTextBytes = 512

    public var kind: Kind
    /// The webhook path, `ALERTNAME FINGERPRINT`, the cron expression and zone, or `wpk run`.
    public var trigger: String
    /// The remote address of the request, or the account (and SSH client) that typed `wpk run`.
    public var source: String

    /// A value with its texts exactly as given (restored from what a record held).
    init(exactly kind: Kind, trigger: String, source: String) {
        self.kind = kind
        self.trigger = trigger
        self.source = source
    }

    /// A value with each text cut to `maxTextBytes`.
    public init(kind: Kind, trigger: String, source: String) {
        self.kind = kind
        self.trigger = Self.bounded(trigger)
        self.source = Self.bounded(source)
    }

    /// A run typed by `op`: its SSH client address when it came over SSH, else its account.
    public static func commandLine(_ op: Operator) -> StartedBy {
        StartedBy(kind: .cli, trigger: "wpk run", source: op.sshSource.map { "\(op.name)@\($0)" } ?? op.name)
    }

    /// `{"kind", "trigger", "source"}`.
    public var json: JSONValue {
        .object([("kind", .string(kind.rawValue)), ("trigger", .string(trigger)), ("source", .string(source))])
    }

    /// Reads the object `json` writes, texts exactly as written; nil when it is not one.
    public init?(json: JSONValue) {
        guard case .object(let members) = json, members.count == 3,
            let kind = json["kind"]?.stringValue.flatMap(Kind.init(rawValue:)),
            let trigger = json["trigger"]?.stringValue, let source = json["source"]?.stringValue
        else { return nil }
        // Exactly as recorded (the record's hash covers these bytes).
        self.init(exactly: kind, trigger: trigger, source: source)
    }

    /// One short line for lists: `webhook /hooks/x from 10.0.0.5:4711` (unsanitized).
    public var summary: String {
        kind == .cli ? "by hand (\(source))" : "\(kind.rawValue) \(trigger) from \(source)"
    }

    private static func bounded(_ text: String) -> String {
        guard text.utf8.count > maxTextBytes else { return text }
        var scalars = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > maxTextBytes { break }
            scalars.append(scalar)
        }
        return String(scalars)
    }
}
