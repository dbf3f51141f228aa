/// Alertmanager's webhook payload (version 4), as Alertmanager sends it, read with strict bounds.
public struct AlertmanagerPayload: Sendable, Equatable {
    /// One alert of the group.
    public struct Alert: Sendable, Equatable {
        /// `firing` or `resolved`.
        public var status: String
        public var labels: [String: String]
        public var annotations: [String: String]
        /// Alertmanager's identity of the alert (hex), stable while it fires.
        public var fingerprint: String

        /// Whether the alert fires (a resolved alert starts nothing).
        public var isFiring: Bool { status == "firing" }
        /// The `alertname` label, or `(unnamed)`.
        public var name: String { labels["alertname"] ?? "(unnamed)" }

        /// Whether every label of `filter` is on the alert with exactly that value.
        public func matches(_ filter: [String: String]) -> Bool {
            filter.allSatisfy { labels[$0.key] == $0.value }
        }
    }

    /// Limits on what one payload may hold; past them the payload is refused, not cut.
    public enum Limits {
        public static let maxAlerts = 1_000
        public static let maxLabels = 128
        public static let maxNameBytes = 256
        public static let maxValueBytes = 8_192
        public static let maxFingerprintBytes = 64
    }

    /// The group's status: `firing` or `resolved`.
    public var status: String
    public var receiver: String
    public var alerts: [Alert]

    /// Reads a payload; throws a one-line reason (for a 400 answer) when it is not one.
    public init(json bytes: [UInt8]) throws(AlertmanagerPayloadError) {
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes, maxDepth: 8)
        } catch {
            throw AlertmanagerPayloadError(message: "malformed JSON: \(error.description)")
        }
        guard case .object = root else { throw AlertmanagerPayloadError(message: "the payload is not a JSON object") }
        guard root["version"]?.stringValue == "4" else {
            throw AlertmanagerPayloadError(message: "unsupported payload version; wpk reads Alertmanager's webhook version \"4\"")
        }
        status = try Self.status(root["status"], at: "status")
        receiver = root["receiver"]?.stringValue ?? ""
        guard let items = root["alerts"]?.arrayValue else {
            throw AlertmanagerPayloadError(message: "\"alerts\" is missing or not an array")
        }
        guard items.count <= Limits.maxAlerts else {
            throw AlertmanagerPayloadError(message: "\(items.count) alerts in one payload; the limit is \(Limits.maxAlerts)")
        }
        var alerts: [Alert] = []
        alerts.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let at = "alerts[\(index)]"
            guard case .object = item else { throw AlertmanagerPayloadError(message: "\(at) is not an object") }
            guard let fingerprint = item["fingerprint"]?.stringValue, !fingerprint.isEmpty,
                fingerprint.utf8.count <= Limits.maxFingerprintBytes,
                fingerprint.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) })
            else {
                throw AlertmanagerPayloadError(message: "\(at).fingerprint is missing or not hexadecimal")
            }
            alerts.append(
                Alert(
                    status: try Self.status(item["status"], at: at + ".status"),
                    labels: try Self.stringMap(item["labels"], at: at + ".labels"),
                    annotations: try Self.stringMap(item["annotations"], at: at + ".annotations", optional: true),
                    fingerprint: fingerprint.lowercased()))
        }
        self.alerts = alerts
    }

    private static func status(_ value: JSONValue?, at: String) throws(AlertmanagerPayloadError) -> String {
        guard let text = value?.stringValue, text == "firing" || text == "resolved" else {
            throw AlertmanagerPayloadError(message: "\(at) must be \"firing\" or \"resolved\"")
        }
        return text
    }

    private static func stringMap(_ value: JSONValue?, at: String, optional: Bool = false) throws(AlertmanagerPayloadError) -> [String:
        String]
    {
        guard let value else {
            if optional { return [:] }
            throw AlertmanagerPayloadError(message: "\(at) is missing")
        }
        guard case .object(let members) = value else { throw AlertmanagerPayloadError(message: "\(at) is not an object") }
        guard members.count <= Limits.maxLabels else {
            throw AlertmanagerPayloadError(message: "\(at) has \(members.count) entries; the limit is \(Limits.maxLabels)")
        }
        var out: [String: String] = [:]
        for (key, member) in members {
            guard let text = member.stringValue else { throw AlertmanagerPayloadError(message: "\(at) has a value that is not a string") }
            guard !key.isEmpty, key.utf8.count <= Limits.maxNameBytes, text.utf8.count <= Limits.maxValueBytes else {
                throw AlertmanagerPayloadError(
                    message: "\(at) has a name or value over the size limit (\(Limits.maxNameBytes) and \(Limits.maxValueBytes) bytes)")
            }
            out[key] = text
        }
        return out
    }
}

/// Why a body is not an Alertmanager payload (one line; names no value from the body).
public struct AlertmanagerPayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
