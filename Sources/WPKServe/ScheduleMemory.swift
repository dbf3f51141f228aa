import Foundation
import WPKCore

#if canImport(Glibc)
    import Glibc
#endif

/// How far `wpk serve` has followed each schedule, kept across restarts so the fires that passed
/// while no server ran can be reported as missed (they are never caught up).
///
/// One small file per schedule (playbook path, cron, zone), named by the SHA-256 of those, holding
/// the last instant the schedule was followed to: its start, or the fire or miss last handled.
/// Between those nothing was due, so after a restart every fire later than that instant and
/// before the new start passed while the server was down. A file that cannot be read or written
/// only means less is reported; it never stops a schedule.
public struct ScheduleMemory: Sendable {
    /// The directory of the files.
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `$XDG_STATE_HOME/wpk/serve-schedules` (else `~/.local/state/wpk/serve-schedules`).
    public static func standard(environment: [String: String], home: String) -> ScheduleMemory {
        ScheduleMemory(directory: StateDirectory.path(environment: environment, home: home) + "/serve-schedules")
    }

    /// The instant the schedule of `playbook` was last followed to, or nil when never (or unreadable).
    public func followedUntil(playbook: String, schedule: CronSchedule) -> Date? {
        let fd = open(file(playbook, schedule), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= 4096 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 4096) }
        guard n > 0, let value = try? JSONValue.parse(Array(bytes.prefix(n))) else { return nil }
        return value["followed_until"]?.stringValue.flatMap(RFC3339.parse)
    }

    /// Records that the schedule of `playbook` was followed to `instant` (replacing the file
    /// whole); false when it cannot be written.
    @discardableResult
    public func remember(playbook: String, schedule: CronSchedule, followedUntil instant: Date) -> Bool {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let value = JSONValue.object([
                ("playbook", .string(playbook)), ("cron", .string(schedule.expression)),
                ("zone", .string(schedule.timeZone.identifier)), ("followed_until", .string(RFC3339.format(instant))),
            ])
            try Data((value.serialized() + "\n").utf8).write(to: URL(fileURLWithPath: file(playbook, schedule)), options: .atomic)
        } catch {
            return false
        }
        return true
    }

    private func file(_ playbook: String, _ schedule: CronSchedule) -> String {
        let key = [playbook, schedule.expression, schedule.timeZone.identifier].joined(separator: "\u{0}")
        return directory + "/" + ContentDigest.sha256(Array(key.utf8)).replacingOccurrences(of: "sha256:", with: "") + ".json"
    }
}
