import Testing

@testable import WPKCore

/// specs/wpk_schema.yaml documents itself: every property has a description and an example.
/// (Its validity against the 2020-12 metaschema is checked by the schema validator's tests.)
@Suite struct SchemaDocumentTests {
    /// Each property schema under any `properties`, with its path, except pure `$ref`s (their
    /// target is checked) and the `const`-only conditions of `if`.
    static func propertySchemas() throws -> [(path: String, node: Node)] {
        let root = try YAMLLoader.load(RepoFiles.bytes("specs/wpk_schema.yaml")).root
        var out: [(String, Node)] = []
        forEachNode(root, pointer: "") { node, at in
            let pointer = at.pointer
            guard !at.isKey, JSONPointer.tokens(pointer).last == "properties", !pointer.contains("/if/"), let entries = node.mapping else {
                return
            }
            for entry in entries {
                let keys = Set((entry.value.mapping ?? []).map(\.keyText))
                if keys == ["$ref"] || keys == ["const"] || entry.value.mapping == nil { continue }
                out.append((JSONPointer.appending(pointer, entry.keyText), entry.value))
            }
        }
        return out
    }

    @Test func everyPropertyHasADescriptionAndAnExample() throws {
        let properties = try Self.propertySchemas()
        #expect(properties.count > 80)
        for (path, node) in properties {
            #expect(node["description"]?.string?.isEmpty == false, "\(path) has no description")
            #expect(node["examples"]?.sequence?.isEmpty == false || node["$ref"] != nil, "\(path) has no example")
        }
    }

    @Test func coversAtLeastTwentyFiveDistinctOptions() throws {
        let names = Set(try Self.propertySchemas().map { JSONPointer.tokens($0.path).last ?? "" })
        #expect(names.count >= 25, "\(names.count) options")
    }

    /// Objects where a typo must be caught say so.
    @Test func objectsRejectUnknownProperties() throws {
        let root = try YAMLLoader.load(RepoFiles.bytes("specs/wpk_schema.yaml")).root
        for pointer in [
            "", "/$defs/metadata", "/$defs/spec", "/$defs/runtime", "/$defs/safety", "/$defs/input", "/$defs/handler",
            "/$defs/rollbackStep", "/$defs/retry", "/$defs/validation", "/$defs/validation/properties/limits", "/$defs/monitoring",
        ] {
            let node = try #require(root.resolve(pointer: pointer), "\(pointer)")
            #expect(node["additionalProperties"]?.scalar?.value == .bool(false), "\(pointer)")
        }
        for branch in root.resolve(pointer: "/$defs/trigger/oneOf")?.sequence ?? [] {
            #expect(branch["additionalProperties"]?.scalar?.value == .bool(false))
        }
    }
}

/// The binary carries specs/wpk_schema.yaml: the copy must be the file, byte for byte.
@Suite struct EmbeddedWPKSchemaTests {
    @Test func theCarriedCopyIsSpecsWPKSchemaByteForByte() throws {
        let source = try RepoFiles.bytes(EmbeddedWPKSchema.sourcePath)
        // Compared as a whole, reported briefly: a byte dump of both would bury the message.
        let same = Array(EmbeddedWPKSchema.text.utf8) == source
        #expect(
            same,
            "Sources/WPKCore/Schema/EmbeddedWPKSchema.swift differs from specs/wpk_schema.yaml; run scripts/embed-metaschema.py")
    }

    @Test func theCarriedCopyCompilesAndJudgesAnExampleAsTheFileDoes() throws {
        let carried = try CompiledSchema.embeddedWPK()
        let file = try CompiledSchema(contentsOfFile: RepoFiles.url("specs/wpk_schema.yaml").path)
        let bad = try YAMLLoader.load("apiVersion: wpk/v2\nkind: WorkflowPackage\n").root
        #expect(carried.validate(bad).map(\.message) == file.validate(bad).map(\.message))
        #expect(!carried.validate(bad).isEmpty)
    }
}
