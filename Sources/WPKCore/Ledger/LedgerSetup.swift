internal import CProcess
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `wpk approvals init` did to a team ledger.
public struct LedgerSetupReport: Sendable, Equatable {
    /// Whether the directory was made (else it existed and was set right).
    public var createdDirectory: Bool
    /// Whether the file was made (else it existed and was set right).
    public var createdFile: Bool
    /// Whether the append-only attribute is set now; `appendOnlyProblem` says why not.
    public var appendOnly: Bool
    public var appendOnlyProblem: String?
}

extension Ledger {
    /// Creates or repairs a team ledger at `path`: its directory owned by root and `group`, mode
    /// 2770 (members create files with the team's group), the file owned by root and `group`, mode
    /// 0660, with the Linux append-only attribute where the file system supports it. Run as root.
    ///
    /// A directory that already holds anything but the ledger's own files is refused, so a
    /// mistaken path (`/var/lib/ledger.jsonl`) cannot turn a system directory into a team one.
    public static func setUpTeamFile(path: String, group: UInt32) throws(LedgerError) -> LedgerSetupReport {
        let name = (path as NSString).lastPathComponent
        let directory = (path as NSString).deletingLastPathComponent
        guard path.hasPrefix("/"), !name.isEmpty, !directory.isEmpty else {
            throw LedgerError(.policy, "the ledger path \(path) must be an absolute file path")
        }
        var info = stat()
        var createdDirectory = false
        if lstat(directory, &info) != 0 {
            do {
                try FileManager.default.createDirectory(
                    atPath: (directory as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            } catch {
                throw LedgerError(.io, "cannot create the parent of \(directory): \(error.localizedDescription)")
            }
            guard mkdir(directory, 0o700) == 0 else { throw .system("create the directory", directory) }
            createdDirectory = true
        } else {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw LedgerError(.notRegularFile, "\(directory) is not a directory") }
            let own: Set<String> = [name, name + ".torn", "heads"]
            let others = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !own.contains($0) }
            if !others.isEmpty {
                throw LedgerError(
                    .policy,
                    "the directory \(directory) holds other files (\(others.sorted().prefix(3).joined(separator: ", "))); give the team ledger a directory of its own, such as /var/lib/wpk/"
                )
            }
        }
        guard chown(directory, 0, gid_t(group)) == 0, chmod(directory, 0o2770) == 0 else {
            throw .system("set the owner and mode of", directory)
        }

        let existed = lstat(path, &info) == 0
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o660)
        guard fd >= 0 else {
            if errno == ELOOP { throw LedgerError(.notRegularFile, "the ledger \(path) is a symbolic link") }
            throw .system("create", path)
        }
        defer { close(fd) }
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw LedgerError(.notRegularFile, "the ledger \(path) is not a regular file")
        }
        if info.st_uid != 0 || info.st_gid != gid_t(group) || info.st_mode & 0o7777 != 0o660 {
            // An append-only file's owner and mode cannot change either: lift the attribute for the change; it is set again below.
            var current: Int32 = 0
            if wpk_get_inode_flags(fd, &current) == 0, current & wpk_append_only_flag() != 0 {
                _ = wpk_set_inode_flags(fd, current & ~wpk_append_only_flag())
            }
            guard fchown(fd, 0, gid_t(group)) == 0, fchmod(fd, 0o660) == 0 else { throw .system("set the owner and mode of", path) }
        }
        guard fsync(fd) == 0 else { throw .system("fsync", path) }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }

        var appendOnly = false
        var problem: String?
        var flags: Int32 = 0
        if wpk_get_inode_flags(fd, &flags) != 0 {
            problem = "the file system does not support inode attributes (\(String(cString: strerror(errno))))"
        } else if flags & wpk_append_only_flag() != 0 {
            appendOnly = true
        } else if wpk_set_inode_flags(fd, flags | wpk_append_only_flag()) != 0 {
            let code = errno
            problem =
                code == EPERM
                ? "setting it needs CAP_LINUX_IMMUTABLE, which this process lacks (a container?)"
                : "the file system refused it (\(String(cString: strerror(code))))"
        } else {
            appendOnly = Ledger.isAppendOnly(fd) == true
            if !appendOnly { problem = "the file system accepted the attribute but does not keep it" }
        }
        return LedgerSetupReport(
            createdDirectory: createdDirectory, createdFile: !existed, appendOnly: appendOnly, appendOnlyProblem: problem)
    }
}
