import Foundation
import WPKCore

/// Metaschema verdicts kept as empty marker files named by key under `$XDG_CACHE_HOME/wpk/`
/// (else `~/.cache/wpk/`). Any failure to read or write the cache only means checking again.
struct VerdictDirectory: MetaschemaVerdicts {
    let directory: String

    /// The user's cache directory for verdicts, or nil when neither variable names a home for it.
    static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> VerdictDirectory? {
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") {
            return VerdictDirectory(directory: cache + "/wpk/metaschema-passed")
        }
        if let home = environment["HOME"], home.hasPrefix("/") {
            return VerdictDirectory(directory: home + "/.cache/wpk/metaschema-passed")
        }
        return nil
    }

    func passed(_ key: String) -> Bool {
        FileManager.default.fileExists(atPath: path(key))
    }

    func recordPass(_ key: String) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? Data().write(to: URL(fileURLWithPath: path(key)), options: .atomic)
    }

    /// The marker's path: the key's hex digits (the key is `sha256:<hex>`).
    private func path(_ key: String) -> String {
        directory + "/" + key.replacingOccurrences(of: "sha256:", with: "")
    }
}
