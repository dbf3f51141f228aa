import Foundation
import Testing

@testable import WPKCore

@Suite("specs/wpk_schema.yaml")
struct WPKSchemaFileTests {
    @Test("the schema is a valid JSON Schema 2020-12 document (checked against the metaschema)")
    func schemaPassesTheMetaschema() throws {
        let path = RepoFiles.url("specs/wpk_schema.yaml").path
        let strict = CompiledSchema.Options(checkMetaschema: true)
        _ = try CompiledSchema(contentsOfFile: path, options: strict)
    }

    @Test("the metaschema check is real: a broken copy of the schema is refused with a position")
    func brokenSchemaIsRefused() throws {
        let text = try RepoFiles.text("specs/wpk_schema.yaml")
        let broken = text.replacingOccurrences(of: "type: object", with: "type: objekt")
        #expect(broken != text)
        let document = try YAMLLoader.load(broken)
        do {
            _ = try CompiledSchema(document.root, options: CompiledSchema.Options(checkMetaschema: true))
            Issue.record("a schema with type: objekt must be refused")
        } catch {
            let first = try #require(error.diagnostics.first)
            #expect(first.code == "WPK205")
            #expect(first.mark != nil)
        }
    }
}
