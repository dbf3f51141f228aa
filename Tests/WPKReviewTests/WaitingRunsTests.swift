import Testing
import WPKCore

@testable import WPKReview

/// The list puts playbooks with runs waiting for approval first, longest wait first, and says how long.
@Suite struct WaitingRunsListTests {
    @Test func playbooksWithWaitingRunsSortFirstLongestWaitFirst() throws {
        var entries = try fixtureNames.map { try fixture($0).entry }
        entries[1].waitingRuns = 1
        entries[1].longestWaitSeconds = 40
        entries[2].waitingRuns = 2
        entries[2].longestWaitSeconds = 900
        let state = run(ReviewState(size: Size(width: 80, height: 24)), [.listLoaded(entries)]).0
        #expect(state.entries?.map(\.name) == [entries[2].name, entries[1].name, entries[0].name])
    }

    @Test(arguments: [
        (1, 45, "waiting 45s"), (1, 180, "waiting 3m"), (2, 7200, "2 wait 2h"), (3, 200_000, "3 wait 2d"), (150, 59, "99 wait 59s"),
    ])
    func theGatesColumnSaysHowLongTheLongestRunHasWaited(runs: Int, seconds: Int, text: String) throws {
        var entry = try fixture("restart-payments").entry
        entry.waitingRuns = runs
        entry.longestWaitSeconds = seconds
        let (shown, style) = ListScreen.gatesText(entry)
        #expect(shown == text)
        #expect(shown.count <= 11, "the GATES column is 12 wide")
        #expect(style == .danger)
    }
}
