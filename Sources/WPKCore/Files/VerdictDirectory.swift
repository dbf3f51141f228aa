import Foundation

/// Metaschema verdicts kept as empty marker files named by key under `$XDG_CACHE_HOME/wpk/`
/// (else `~/.cache/wpk/`). Any failure to read or write the cache only means checking again.
public struct VerdictDirectory: MetaschemaVerdicts {
    public let directory: String

    /// Verdicts kept as markers in `directory`.
    public init(directory: String) { self.directory = directory }

    /// The user's cache directory for verdicts (`metaschema-passed`, or another kind such as
    /// `signature-verified`), or nil when neither variable names a home for it.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment, kind: String = "metaschema-passed")
        -> VerdictDirectory?
    {
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") {
            return VerdictDirectory(directory: cache + "/wpk/" + kind)
        }
        if let home = environment["HOME"], home.hasPrefix("/") {
            return VerdictDirectory(directory: home + "/.cache/wpk/" + kind)
        }
        return nil
    }

    // Plain system calls: `wpk validate` asks once per signed file, and FileManager's checks and
    // atomic writes (a temporary file and a rename) cost more than the answer. A marker is empty,
    // so creating it in place cannot leave a half-written one.
    public func passed(_ key: String) -> Bool {
        access(path(key), F_OK) == 0
    }

    public func recordPass(_ key: String) {
        var fd = open(path(key), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            fd = open(path(key), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        }
        if fd >= 0 { close(fd) }
    }

    /// The marker's path: the key's hex digits (the key is `sha256:<hex>`).
    private func path(_ key: String) -> String {
        directory + "/" + (key.hasPrefix("sha256:") ? String(key.dropFirst(7)) : key)
    }
}
