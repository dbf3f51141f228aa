/// A map keyed by strings that scans a short list while small and hashes once large. The rules
/// and the schema look names up among a handful (a schema object's properties, a playbook's
/// permissions), where comparing a few short strings, lengths first, beats hashing them; a
/// hostile file may still list thousands.
struct ShortStringMap<Value: Sendable>: Sendable {
    /// The keys, in the order they were first added.
    private(set) var keys: [String] = []
    private var values: [Value] = []
    /// Position of each key, built once there are more than `scanLimit`.
    private var positions: [String: Int]?
    private static var scanLimit: Int { 16 }

    init() {}

    subscript(key: String) -> Value? {
        position(of: key).map { values[$0] }
    }

    /// Adds `key` with `value` unless the key is there already; true when it was added.
    @discardableResult
    mutating func insertIfAbsent(_ key: String, _ value: Value) -> Bool {
        guard position(of: key) == nil else { return false }
        keys.append(key)
        values.append(value)
        if positions != nil {
            positions![key] = keys.count - 1
        } else if keys.count > Self.scanLimit {
            positions = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
        }
        return true
    }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        let length = key.utf8.count
        return keys.indices.first { keys[$0].utf8.count == length && keys[$0] == key }
    }
}

/// A set of names, on the same terms.
typealias NameSet = ShortStringMap<Void>

extension ShortStringMap where Value == Void {
    init<Names: Sequence>(_ names: Names) where Names.Element == String {
        for name in names { insert(name) }
    }

    func contains(_ name: String) -> Bool { self[name] != nil }

    /// Adds `name`; true when it was not there before.
    @discardableResult
    mutating func insert(_ name: String) -> Bool { insertIfAbsent(name, ()) }
}
