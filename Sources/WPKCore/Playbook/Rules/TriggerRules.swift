import Foundation
import Synchronization

/// Schedules: a cron expression that a scheduler accepts and a time zone that exists.
enum TriggerRules {
    static let cron = RuleInfo("WPK311", .error, "invalid-cron", "A schedule's cron expression is malformed or can never fire.")
    static let timezone = RuleInfo("WPK312", .error, "invalid-time-zone", "A schedule's time zone is not an IANA time zone name.")
    static let inputs = RuleInfo(
        "WPK329", .error, "invalid-trigger-inputs",
        "A trigger's `inputs:` names an undeclared or secret input, or a template that is not `${{ event.body.PATH }}` (webhook) or `${{ event.labels.NAME }}`/`${{ event.annotations.NAME }}` (event)."
    )
    static let rules = [cron, timezone, inputs]

    static func check(_ context: RuleContext) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for trigger in context.playbook.triggers where !trigger.inputs.isEmpty {
            checkInputs(trigger, context, into: &out)
        }
        for trigger in context.playbook.triggers where trigger.kind?.value == "schedule" {
            if let expression = trigger.cron, let problem = Cron.problem(expression.value) {
                let node = context.root.resolve(pointer: expression.pointer)
                let mark =
                    node.map { n in
                        problem.field.map { Cron.fieldMark($0, of: expression.value, in: n, lines: context.lines) } ?? n.start
                    } ?? expression.mark
                out.append(context.report(cron, problem.message, pointer: expression.pointer, mark: mark))
            }
            if let zone = trigger.timezone, let problem = Self.timeZoneProblem(zone.value) {
                out.append(context.report(timezone, problem, at: zone))
            }
        }
        return out
    }

    /// Each mapped input must be a declared, non-secret input, and each template may read only
    /// what the trigger's event carries.
    private static func checkInputs(_ trigger: Playbook.Trigger, _ context: RuleContext, into out: inout [Diagnostic]) {
        let kind = trigger.kind?.value
        for (name, template) in trigger.inputs {
            if let input = context.playbook.inputs.first(where: { $0.name.value == name.value }) {
                if input.secret {
                    out.append(
                        context.report(
                            inputs, "input \"\(name.value)\" is a secret: it is read from its secret_ref, never from a request", at: name))
                }
            } else {
                let declared = context.declaredInputs.sorted().joined(separator: ", ")
                out.append(
                    context.report(
                        inputs,
                        "input \"\(name.value)\" is not declared; declare it under spec.inputs\(declared.isEmpty ? "" : " (declared: \(declared))")",
                        at: name))
            }
            let references = Templates.references(in: template.value)
            let problems = references.map { TriggerInputs.problem($0, kind: kind) }
            guard problems.contains(where: { $0 != nil }), let node = context.root.resolve(pointer: template.pointer) else { continue }
            for (problem, mark) in zip(problems, Templates.marks(of: references, in: node, lines: context.lines)) {
                if let problem { out.append(context.report(inputs, problem, pointer: template.pointer, mark: mark)) }
            }
        }
    }

    /// Why `name` is not a usable IANA zone, or nil. Abbreviations such as `CET` or `EST` are
    /// refused: they are ambiguous or ignore daylight saving, and a 04:30 job would drift.
    static func timeZoneProblem(_ name: String) -> String? {
        if name == "UTC" || name.hasPrefix("Etc/") {
            return isKnownZone(name) ? nil : "unknown time zone \"\(name)\"; use an IANA name such as Europe/Berlin or UTC"
        }
        if !name.containsBytes("/") {
            return
                "time zone \"\(name)\" is an abbreviation, not an IANA name; write the region, such as Europe/Berlin or America/New_York (or UTC)"
        }
        if !isKnownZone(name) {
            return "unknown time zone \"\(name)\"; use an IANA name such as Europe/Berlin or America/New_York (names are case-sensitive)"
        }
        return nil
    }

    /// Whether Foundation knows the zone, remembered per name: looking a zone up goes through
    /// ICU and cost more than the rest of a playbook's trigger checks. Bounded, so hostile
    /// files with endless names cannot grow it.
    static func isKnownZone(_ name: String) -> Bool {
        if let known = knownZones.withLock({ $0[name] }) { return known }
        let known = TimeZone(identifier: name) != nil
        knownZones.withLock { zones in
            if zones.count >= 1024 { zones.removeAll(keepingCapacity: true) }
            zones[name] = known
        }
        return known
    }

    private static let knownZones = Mutex<[String: Bool]>([:])
}

/// Five-field cron expressions (minute hour day-of-month month day-of-week) as Vixie cron and
/// Kubernetes CronJobs read them, plus the `@hourly`-style macros.
public enum Cron {
    /// A problem and, when it concerns one field, that field's index (0-based).
    public struct Problem: Sendable, Equatable {
        public var message: String
        public var field: Int?
    }

    static let fieldNames = ["minute", "hour", "day of month", "month", "day of week"]
    static let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    static let macros: Set<String> = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]

    /// What is wrong with `expression`, or nil when it is valid.
    public static func problem(_ expression: String) -> Problem? {
        let trimmed = expression.trimmingSpaces
        if trimmed.hasPrefix("@") {
            return macros.contains(trimmed)
                ? nil
                : Problem(
                    message: "unknown cron macro \"\(trimmed)\"; use one of \(macros.sorted().joined(separator: ", ")) or five fields",
                    field: nil)
        }
        let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            return Problem(
                message:
                    "cron expression \"\(expression)\" has \(fields.count) field\(fields.count == 1 ? "" : "s"); write five: minute hour day-of-month month day-of-week (e.g. \"30 4 * * *\")",
                field: nil)
        }
        var values: [Set<Int>] = []
        for (i, field) in fields.enumerated() {
            switch parse(field, index: i) {
            case .success(let set): values.append(set)
            case .failure(let message): return Problem(message: "cron \(fieldNames[i]) field \"\(field)\": \(message)", field: i)
            }
        }
        // A day of month that no chosen month has (e.g. 30 2 = 30 February) never fires,
        // unless the day-of-week field is restricted too (cron then fires on either).
        if fields[4] == "*" && fields[2] != "*" {
            let longest = values[3].map { [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][$0 - 1] }.max() ?? 31
            if let smallest = values[2].min(), smallest > longest {
                return Problem(
                    message:
                        "day \(smallest) never occurs in the chosen month\(values[3].count == 1 ? "" : "s"), so the schedule never fires",
                    field: 2)
            }
        }
        return nil
    }

    enum Parsed {
        case success(Set<Int>)
        case failure(String)
    }

    static func parse(_ field: String, index: Int) -> Parsed {
        let (low, high) = ranges[index]
        var out: Set<Int> = []
        for item in field.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { return .failure("empty list item") }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { return .failure("more than one \"/\" in \"\(item)\"") }
            var step = 1
            if stepParts.count == 2 {
                guard let s = Int(stepParts[1]), s >= 1, s <= high else {
                    return .failure("step \"\(stepParts[1])\" must be a number from 1 to \(high)")
                }
                step = s
            }
            var from = low
            var to = high
            let base = stepParts[0]
            if base != "*" {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { return .failure("\"\(base)\" is not a value or a range") }
                guard let a = value(bounds[0], index: index) else {
                    return .failure("\"\(bounds[0])\" is not a value from \(low) to \(high)\(namesHint(index))")
                }
                from = a
                to = a
                if bounds.count == 2 {
                    guard let b = value(bounds[1], index: index) else {
                        return .failure("\"\(bounds[1])\" is not a value from \(low) to \(high)\(namesHint(index))")
                    }
                    guard a <= b else { return .failure("range \(base) runs backwards") }
                    to = b
                } else if stepParts.count == 2 {
                    to = high
                }
            }
            var v = from
            while v <= to {
                out.insert(index == 4 && v == 7 ? 0 : v)
                v += step
            }
        }
        return .success(out)
    }

    private static func value(_ text: Substring, index: Int) -> Int? {
        let (low, high) = ranges[index]
        if let n = Int(text), n >= low, n <= high, text.allSatisfy(\.isASCII) { return n }
        let upper = text.uppercased()
        if index == 3, let i = monthNames.firstIndex(of: upper) { return i + 1 }
        if index == 4, let i = dayNames.firstIndex(of: upper) { return i }
        return nil
    }

    private static func namesHint(_ index: Int) -> String {
        index == 3 ? " or JAN-DEC" : index == 4 ? " or SUN-SAT" : ""
    }

    /// The mark of field `field` inside the cron scalar (exact in the source when it holds the
    /// expression as written).
    static func fieldMark(_ field: Int, of expression: String, in node: Node, lines: LineIndex?) -> Mark {
        let fields = expression.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard field < fields.count else { return node.start }
        // Occurrences of the same text in earlier fields come first in the source.
        let needle = String(fields[field])
        let earlier = fields[..<field].reduce(0) { count, f in count + occurrences(of: needle, in: String(f)) }
        return SourceLocator.mark(of: needle, occurrence: earlier, in: node, lines: lines)
    }

    private static func occurrences(of needle: String, in text: String) -> Int {
        guard !needle.isEmpty else { return 0 }
        var count = 0
        var rest = Substring(text)
        while let range = rest.range(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
