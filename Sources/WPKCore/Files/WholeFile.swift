import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Files written whole or not at all: a new file beside the target (never a link, never an
/// existing file), filled, given its mode, optionally synced, then renamed over the target.
public enum WholeFile {
    /// Writes `bytes` to `target` through a new file beside it; the `errno` of what failed, or nil.
    public static func write(_ bytes: [UInt8], to target: String, mode: mode_t, sync: Bool) -> Int32? {
        let folder = (target as NSString).deletingLastPathComponent
        let temporary = "\(folder.isEmpty ? "." : folder)/.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { return errno }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                written += n
            }
            // The umask may have taken bits away; and what is renamed into place must be on disk.
            return fchmod(fd, mode) == 0 && (!sync || fsync(fd) == 0)
        }
        let failure = ok ? nil : errno
        close(fd)
        guard ok, rename(temporary, target) == 0 else {
            let code = failure ?? errno
            unlink(temporary)
            return code
        }
        return nil
    }
}
