import Foundation
import Testing

@testable import WPKCore

/// Reading inputs: exact bytes from files of every size and from pipes, and the size bound.
@Suite struct SourceReaderTests {
    /// A fresh directory for one test's files.
    private func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    @Test(arguments: [0, 1, 4095, 4096, 4097, 100_000])
    func aRegularFileIsReadExactly(size: Int) throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("p.wpk.yaml").path
        let written = bytes(size)
        try Data(written).write(to: URL(fileURLWithPath: path))
        // Compared as a yes/no, so a failure does not print 100,000 bytes.
        #expect(SourceReader.contents(of: .file(path)).map { $0 == written } == .success(true))
    }

    @Test(arguments: [(10, 10, true), (10, 11, false), (100, 5_000, false), (5_000, 5_000, true), (5_000, 5_001, false)])
    func theLimitIsExact(limit: Int, size: Int, fits: Bool) throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("p.wpk.yaml").path
        try Data(bytes(size)).write(to: URL(fileURLWithPath: path))
        let result = SourceReader.contents(of: .file(path), limit: limit)
        #expect(result.map { $0 == bytes(size) } == (fits ? .success(true) : .failure(.tooLarge(limit: limit))))
    }

    @Test("a pipe written in pieces is read to its end")
    func aPipeIsReadToTheEnd() throws {
        // As process substitution hands it over: an anonymous pipe named /dev/fd/N.
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let written = bytes(20_000)
        let writeEnd = fds[1]
        let writer = Thread {
            // Several small writes, so the reader sees the data arrive in pieces.
            for start in stride(from: 0, to: written.count, by: 3_000) {
                let piece = Array(written[start..<min(start + 3_000, written.count)])
                _ = piece.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
                usleep(1_000)
            }
            close(writeEnd)
        }
        writer.start()
        #expect(SourceReader.contents(of: .file("/dev/fd/\(fds[0])")).map { $0 == written } == .success(true))
    }

    @Test func aNamedFIFOIsRefusedWithoutBlocking() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("fifo.wpk.yaml").path
        #expect(mkfifo(path, 0o600) == 0)
        // No writer ever opens it: a blocking open would never return.
        guard case .failure(.unreadable(let reason)) = SourceReader.contents(of: .file(path)) else {
            Issue.record("a named FIFO was read")
            return
        }
        #expect(reason.hasPrefix("it is a FIFO (named pipe);"))
        guard case .failure(.unreadable(let device)) = SourceReader.contents(of: .file("/dev/null")) else {
            Issue.record("a device was read")
            return
        }
        #expect(device.hasPrefix("it is a character device;"))
    }

    @Test func aMissingFileIsUnreadable() {
        guard case .failure(.unreadable(let reason)) = SourceReader.contents(of: .file("/nonexistent/p.wpk.yaml")) else {
            Issue.record("a missing file was read")
            return
        }
        #expect(reason.contains("No such file"))
    }
}
