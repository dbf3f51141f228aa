import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Notices changes to the files of one directory (the ledger's) through inotify, so a waiting
/// run wakes when someone approves instead of polling the ledger in a loop. When inotify is
/// unavailable `descriptor` is nil and callers fall back to a slow poll.
public final class DirectoryWatch: @unchecked Sendable {
    /// Readable when something in the directory changed; nil without inotify.
    public let descriptor: Int32?

    /// Watches `directory` for writes, creations and renames.
    public init(directory: String) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            descriptor = nil
            return
        }
        // Data written, files created or renamed in. Not IN_CLOSE_WRITE: the ledger's own
        // checks open it read-write without writing, and waking on that would spin the wait.
        let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO)
        if inotify_add_watch(fd, directory, mask) < 0 {
            close(fd)
            descriptor = nil
        } else {
            descriptor = fd
        }
    }

    deinit {
        if let descriptor { close(descriptor) }
    }

    /// Reads and discards pending events; returns whether there were any.
    @discardableResult
    public func drain() -> Bool {
        guard let descriptor else { return false }
        var any = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if n > 0 {
                any = true
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return any
        }
    }
}
