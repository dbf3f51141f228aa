/// Declared inputs: defaults that fit their own declaration.
enum InputRules {
    static let badDefault = RuleInfo(
        "WPK326", .error, "input-default-mismatch",
        "An input's default does not have its declared type or lies outside its minimum and maximum.")
    static let rules = [badDefault]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for input in context.playbook.inputs {
            guard let value = input.defaultValue, let scalar = value.scalar, let type = input.type else { continue }
            let pointer = input.pointer + "/default"
            var number: Number?
            switch (type, scalar.value) {
            case ("string", .string), ("boolean", .bool): break
            case ("integer", .number(let n)) where n.isInteger: number = n
            case ("number", .number(let n)): number = n
            default:
                out.append(
                    context.report(
                        badDefault,
                        "default \(scalar.text) of input \"\(input.name.value)\" is not a\(type == "integer" ? "n" : "") \(type); change the default or the type",
                        pointer: pointer, mark: value.start))
                continue
            }
            guard let number else { continue }
            if let minimum = input.minimum, number < minimum {
                out.append(
                    context.report(
                        badDefault, "default \(number) of input \"\(input.name.value)\" is below its minimum \(minimum)", pointer: pointer,
                        mark: value.start))
            } else if let maximum = input.maximum, maximum < number {
                out.append(
                    context.report(
                        badDefault, "default \(number) of input \"\(input.name.value)\" is above its maximum \(maximum)", pointer: pointer,
                        mark: value.start))
            }
        }
        return out
    }
}
