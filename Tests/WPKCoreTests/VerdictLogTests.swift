import Foundation
import Testing
import WPKCore

/// Signature verdicts kept as lines of one file: remembered across processes (a new instance
/// reads the file), damaged lines match nothing, an oversized file starts over.
@Suite struct VerdictLogTests {
    static func key(_ n: Int) -> String { ContentDigest.sha256(Array("file \(n)".utf8)) }

    @Test func remembersAcrossInstancesAndIgnoresDamage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-verdict-log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("wpk/signature-verified.log").path
        let first = VerdictLog(path: path)
        #expect(!first.passed(Self.key(1)))
        first.recordPass(Self.key(1))
        first.recordPass(Self.key(2))
        #expect(first.passed(Self.key(1)) && first.passed(Self.key(2)) && !first.passed(Self.key(3)))
        // A torn line (half a key) and text that is no key: neither is taken for a verdict.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((String(Self.key(3).dropFirst(7).prefix(40)) + "\nnot a key\n").utf8))
        try handle.close()
        let second = VerdictLog(path: path)
        #expect(second.passed(Self.key(1)) && second.passed(Self.key(2)))
        #expect(!second.passed(Self.key(3)))
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix(String(Self.key(1).dropFirst(7)) + "\n"))
    }

    @Test func anOversizedFileStartsOver() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-verdict-log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("signature-verified.log").path
        let writer = VerdictLog(path: path, maxEntries: 3)
        for n in 0..<5 { writer.recordPass(Self.key(n)) }
        let reader = VerdictLog(path: path, maxEntries: 3)
        #expect(!reader.passed(Self.key(0)), "a file over its bound is not read")
        #expect(!FileManager.default.fileExists(atPath: path), "and it is removed, to start over")
        reader.recordPass(Self.key(9))
        #expect(VerdictLog(path: path, maxEntries: 3).passed(Self.key(9)))
    }
}
