import Foundation

/// A five-field cron schedule read in an IANA time zone: when it fires next.
///
/// Daylight-saving rules (as Vixie cron treats fixed-time jobs): a local time that does not exist
/// on a spring-forward day fires once, at the instant the clocks jump; a local time that happens
/// twice on a fall-back day fires once, at its first occurrence. A schedule whose hour field is
/// `*` keeps its rhythm in real time and also fires in the repeated hour, since those are
/// different moments that each fall on the schedule.
public struct CronSchedule: Sendable, Equatable {
    /// The expression as written (a macro such as `@daily` stays as written).
    public let expression: String
    /// The time zone the fields are read in.
    public let timeZone: TimeZone
    let minutes: [Int]
    let hours: [Int]
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    /// Both day fields restricted: a day matches when either does (cron's rule).
    let eitherDay: Bool
    let everyHour: Bool

    private static let macroFields = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// The schedule of `expression` in the zone named `timeZone`; throws the rule's message
    /// (the same text `wpk validate` reports as WPK311 or WPK312) when either is unusable.
    public init(_ expression: String, timeZone name: String = "UTC") throws(CronScheduleError) {
        if let problem = Cron.problem(expression) { throw CronScheduleError(message: problem.message) }
        if let problem = TriggerRules.timeZoneProblem(name) { throw CronScheduleError(message: problem) }
        guard let zone = TimeZone(identifier: name) else { throw CronScheduleError(message: "unknown time zone \"\(name)\"") }
        let trimmed = expression.trimmingSpaces
        let text = Self.macroFields[trimmed] ?? trimmed
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var sets: [Set<Int>] = []
        for (index, field) in fields.enumerated() {
            guard case .success(let set) = Cron.parse(field, index: index) else {
                throw CronScheduleError(message: "cron field \"\(field)\" is malformed")
            }
            sets.append(set)
        }
        self.expression = expression
        self.timeZone = zone
        minutes = sets[0].sorted()
        hours = sets[1].sorted()
        daysOfMonth = sets[2]
        months = sets[3]
        daysOfWeek = sets[4]
        eitherDay = !fields[2].hasPrefix("*") && !fields[4].hasPrefix("*")
        everyHour = sets[1].count == 24
    }

    /// The first instant strictly after `date` at which the schedule fires; nil when it never
    /// does within 30 years (the rules refuse schedules that can never fire).
    public func next(after date: Date) -> Date? {
        let after = date.timeIntervalSince1970.rounded(.down)
        // Local wall-clock seconds of `date` as if the zone were UTC; candidates earlier than a
        // few hours before it cannot be later instants (offsets move by at most two hours).
        let wallNow = after + Double(timeZone.secondsFromGMT(for: date))
        var day = Int((wallNow / 86_400).rounded(.down)) - 1
        let lastDay = day + 366 * 30
        let skipBefore = wallNow - 4 * 3_600
        while day <= lastDay {
            defer { day += 1 }
            let (_, month, dayOfMonth) = Self.civil(fromDays: day)
            guard months.contains(month), matchesDay(dayOfMonth, weekday: Self.weekday(ofDays: day)) else { continue }
            var best: Double?
            // Wall times come in ascending order and instants follow them except across a
            // fall-back overlap, so three hours past the first hit nothing earlier can appear.
            var stopAt = Double.infinity
            scan: for hour in hours {
                for minute in minutes {
                    let wall = Double(day * 86_400 + hour * 3_600 + minute * 60)
                    if wall < skipBefore { continue }
                    if wall > stopAt { break scan }
                    for instant in instants(ofWall: wall) where instant > after {
                        if best == nil || instant < best! { best = instant }
                        stopAt = min(stopAt, wall + 3 * 3_600)
                    }
                }
            }
            if let best { return Date(timeIntervalSince1970: best) }
        }
        return nil
    }

    /// The fires in `(after, through]`: the first, the last and how many (counting stops at
    /// `limit`, so a clock jumping years ahead cannot loop for long); nil when there is none.
    public func fires(after: Date, through: Date, limit: Int = 100_000) -> (first: Date, last: Date, count: Int)? {
        guard let first = next(after: after), first <= through else { return nil }
        var last = first
        var count = 1
        while count < limit, let following = next(after: last), following <= through {
            last = following
            count += 1
        }
        return (first, last, count)
    }

    private func matchesDay(_ dayOfMonth: Int, weekday: Int) -> Bool {
        let dom = daysOfMonth.contains(dayOfMonth)
        let dow = daysOfWeek.contains(weekday)
        return eitherDay ? (dom || dow) : (dom && dow)
    }

    /// The instants at which local wall time `wall` (seconds as if UTC) fires: one usually, the
    /// jump's instant when the time falls in a spring-forward gap, the first occurrence (and for
    /// every-hour schedules the second too) when it falls in a fall-back overlap.
    func instants(ofWall wall: Double) -> [Double] {
        let earlyOffset = offset(at: wall - 86_400)
        let lateOffset = offset(at: wall + 86_400)
        var found: [Double] = []
        for candidate in [wall - earlyOffset, wall - lateOffset] where offset(at: candidate) == wall - candidate {
            if !found.contains(candidate) { found.append(candidate) }
        }
        found.sort()
        if found.isEmpty {
            // In the gap: the first instant at which the later offset is in force.
            var low = wall - lateOffset  // still on the earlier offset
            var high = wall - earlyOffset  // already on the later one
            while high - low > 1 {
                let middle = ((low + high) / 2).rounded(.down)
                if offset(at: middle) == earlyOffset { low = middle } else { high = middle }
            }
            return [high]
        }
        return everyHour ? found : [found[0]]
    }

    private func offset(at seconds: Double) -> Double {
        Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds)))
    }

    /// Year, month (1-12) and day (1-31) of a count of days since 1970-01-01 (proleptic Gregorian).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// 0 Sunday ... 6 Saturday (1970-01-01 was a Thursday).
    static func weekday(ofDays days: Int) -> Int {
        ((days % 7) + 7 + 4) % 7
    }
}

/// Why a schedule cannot be used (the message `wpk validate` gives for it).
public struct CronScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Follows one schedule with the clock the caller reads: says when to wake, which fire is due, and
/// which fires passed unseen (the server was down or asleep), which are never caught up.
public struct ScheduleTracker: Sendable {
    /// What a look at the clock found.
    public enum Due: Sendable, Equatable {
        /// Nothing yet; look again at `until`.
        case wait(until: Date)
        /// The fire scheduled for `scheduled` is due now: start one run.
        case fire(scheduled: Date)
        /// Fires from `first` to `last` (`count` of them) passed more than `lateness` ago: skipped.
        case missed(first: Date, last: Date, count: Int)
        /// The schedule never fires again.
        case never
    }

    /// The schedule followed.
    public let schedule: CronSchedule
    /// How late a fire may still start (a busy or briefly stopped process); later ones are missed.
    public let lateness: TimeInterval
    /// The next fire not yet handled.
    public private(set) var next: Date?

    /// Fires that passed between `followedUntil` and the start, unseen (the server was down): never run.
    public let missedBeforeStart: (first: Date, last: Date, count: Int)?

    /// Starts following at `start`: fires at or before it are not run (nothing is caught up).
    /// `followedUntil` is how far an earlier server followed this schedule; fires after it and
    /// up to `start` were missed while no server ran, and are only reported.
    public init(schedule: CronSchedule, start: Date, followedUntil: Date? = nil, lateness: TimeInterval = 60) {
        self.schedule = schedule
        self.lateness = lateness
        next = schedule.next(after: start)
        missedBeforeStart = followedUntil.flatMap { $0 < start ? schedule.fires(after: $0, through: start) : nil }
    }

    /// What is due at `now`; a `fire` or `missed` answer moves past those fires.
    public mutating func poll(now: Date) -> Due {
        guard let due = next else { return .never }
        if now < due { return .wait(until: due) }
        if now.timeIntervalSince(due) <= lateness {
            next = schedule.next(after: due)
            return .fire(scheduled: due)
        }
        // Everything too late to start; one still within `lateness` of now fires at the next poll.
        let passed = schedule.fires(after: due, through: now.addingTimeInterval(-lateness).addingTimeInterval(-0.001))
        let last = passed?.last ?? due
        next = schedule.next(after: last)
        return .missed(first: due, last: last, count: 1 + (passed?.count ?? 0))
    }
}
