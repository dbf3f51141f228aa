import Foundation
import Testing

@testable import WPKCore

/// Metaschema verdicts: a schema file that passed is not checked again; nothing else is trusted.
@Suite struct MetaschemaVerdictTests {
    /// Verdicts in memory, recording what was asked and recorded.
    final class MemoryVerdicts: MetaschemaVerdicts, @unchecked Sendable {
        private let lock = NSLock()
        private var passedKeys: Set<String>
        private(set) var recorded: [String] = []
        private(set) var asked: [String] = []

        init(passed: Set<String> = []) { passedKeys = passed }

        func passed(_ key: String) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            asked.append(key)
            return passedKeys.contains(key)
        }

        func recordPass(_ key: String) {
            lock.lock()
            defer { lock.unlock() }
            recorded.append(key)
            passedKeys.insert(key)
        }
    }

    /// Removes the directory `schemaFile` made for `path`.
    static func removeSchemaFile(_ path: String) {
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }

    /// A schema file in a fresh directory (the caller removes it with `removeSchemaFile`).
    static func schemaFile(_ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-verdicts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("s.schema.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Compiles fine, but breaks the metaschema (`title` must be a string), so only the check refuses it.
    static let offMetaschema = "type: object\ntitle: 5\n"

    @Test func aPassingSchemaIsRecordedOnceAndThenTrusted() throws {
        let path = try Self.schemaFile("type: object\nproperties:\n  a: {type: integer}\n")
        defer { Self.removeSchemaFile(path) }
        let verdicts = MemoryVerdicts()
        let key = CompiledSchema.verdictKey(schemaBytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        _ = try CompiledSchema(contentsOfFile: path, verdicts: verdicts)
        #expect(verdicts.recorded == [key])
        _ = try CompiledSchema(contentsOfFile: path, verdicts: verdicts)
        #expect(verdicts.recorded == [key], "a known pass is not recorded again")
        #expect(verdicts.asked == [key, key])
    }

    @Test func aFailingSchemaIsRefusedAndNotRecorded() throws {
        let path = try Self.schemaFile(Self.offMetaschema)
        defer { Self.removeSchemaFile(path) }
        let verdicts = MemoryVerdicts()
        #expect(throws: SchemaError.self) { try CompiledSchema(contentsOfFile: path, verdicts: verdicts) }
        #expect(verdicts.recorded.isEmpty)
    }

    @Test func aRecordedPassSkipsTheCheckOfThoseExactBytesOnly() throws {
        let path = try Self.schemaFile(Self.offMetaschema)
        defer { Self.removeSchemaFile(path) }
        let key = CompiledSchema.verdictKey(schemaBytes: Array(Self.offMetaschema.utf8))
        // The check is really skipped: the same bytes, said to have passed, now compile.
        _ = try CompiledSchema(contentsOfFile: path, verdicts: MemoryVerdicts(passed: [key]))
        // Any other bytes are checked as before.
        let other = try Self.schemaFile(Self.offMetaschema + "# edited\n")
        defer { Self.removeSchemaFile(other) }
        #expect(throws: SchemaError.self) { try CompiledSchema(contentsOfFile: other, verdicts: MemoryVerdicts(passed: [key])) }
    }

    @Test func withoutTheCheckVerdictsAreNeitherAskedNorRecorded() throws {
        let path = try Self.schemaFile(Self.offMetaschema)
        defer { Self.removeSchemaFile(path) }
        let verdicts = MemoryVerdicts()
        _ = try CompiledSchema(contentsOfFile: path, options: .init(checkMetaschema: false), verdicts: verdicts)
        #expect(verdicts.recorded.isEmpty)
    }

    @Test func theKeyDependsOnTheBytesAndTheMetaschema() {
        let a = CompiledSchema.verdictKey(schemaBytes: Array("type: object\n".utf8))
        #expect(a == CompiledSchema.verdictKey(schemaBytes: Array("type: object\n".utf8)))
        #expect(a != CompiledSchema.verdictKey(schemaBytes: Array("type: object \n".utf8)))
        #expect(a != ContentDigest.sha256(Array("type: object\n".utf8)), "the metaschema is part of the key")
        #expect(a.hasPrefix("sha256:") && a.count == 71)
    }
}
