import Foundation

/// Turns PATH arguments into the files to read, following the contract: a file is always read
/// whatever its name, a directory is searched recursively for `*.wpk.yaml` and `*.wpk.yml`, and
/// `-` is standard input. Symbolic-link loops, FIFOs, sockets and devices found in a directory are
/// skipped without being opened.
enum PlaybookFinder {
    /// Whether a file name marks a playbook.
    static func isPlaybookName(_ name: String) -> Bool {
        name.hasSuffix(".wpk.yaml") || name.hasSuffix(".wpk.yml")
    }

    /// The files named by `arguments`, in argument order, each directory's finds sorted; plus
    /// arguments that name nothing.
    static func find(_ arguments: [String]) -> (files: [String], missing: [String]) {
        var files: [String] = []
        var missing: [String] = []
        for argument in arguments {
            if argument == "-" {
                files.append(argument)
                continue
            }
            var info = stat()
            guard stat(argument, &info) == 0 else {
                missing.append(argument)
                continue
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                files.append(contentsOf: search(directory: argument))
            } else {
                files.append(argument)
            }
        }
        return (files, missing)
    }

    /// An iterative walk (no recursion on untrusted depth); each directory is entered once by
    /// device and inode, which is what stops symbolic-link loops.
    private static func search(directory root: String) -> [String] {
        var found: [String] = []
        var visited = Set<[UInt64]>()
        var pending = [root]
        while let directory = pending.popLast() {
            var info = stat()
            guard stat(directory, &info) == 0 else { continue }
            guard visited.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else { continue }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            var subdirectories: [String] = []
            for name in names.sorted() {
                let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
                var entry = stat()
                guard lstat(path, &entry) == 0 else { continue }
                var kind = entry.st_mode & S_IFMT
                if kind == S_IFLNK {
                    // Follow the link with stat (never open): a dangling link or a loop fails or is visited.
                    guard stat(path, &entry) == 0 else { continue }
                    kind = entry.st_mode & S_IFMT
                }
                if kind == S_IFDIR {
                    subdirectories.append(path)
                } else if kind == S_IFREG, isPlaybookName(name) {
                    found.append(path)
                }
                // FIFOs, sockets and devices: skipped, never opened.
            }
            pending.append(contentsOf: subdirectories.reversed())
        }
        return found.sorted()
    }
}
