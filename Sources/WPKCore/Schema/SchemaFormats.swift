/// Format checks asserted on request (`CompiledSchema.Options.assertFormats`).
enum SchemaFormats {
    static func isAsserted(_ format: String) -> Bool { false }
    static func check(_ format: String, _ text: String) -> Bool { true }
}
