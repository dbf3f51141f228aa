import Foundation
import Testing
@testable import WPKCore

/// Parallel checking hands results back in input order and never reads far ahead.
@Suite struct OrderedConcurrentMapTests {
    /// Counts inputs read and results delivered, to measure how far reading runs ahead.
    final class Progress: @unchecked Sendable {
        private let lock = NSLock()
        private var read = 0
        private(set) var delivered = 0
        private(set) var mostAhead = 0

        func didRead() {
            lock.lock(); defer { lock.unlock() }
            read += 1
            mostAhead = max(mostAhead, read - delivered)
        }

        func didDeliver() {
            lock.lock(); defer { lock.unlock() }
            delivered += 1
        }
    }

    /// A sequence that records each element as it is read.
    struct CountingSequence: Sequence, IteratorProtocol {
        var position = 0
        let count: Int
        let progress: Progress

        mutating func next() -> Int? {
            guard position < count else { return nil }
            progress.didRead()
            position += 1
            return position - 1
        }
    }

    @Test(arguments: [1, 2, 3, 8])
    func resultsComeInInputOrderWithinTheWindow(workers: Int) {
        let progress = Progress()
        let window = workers * 4
        var results: [Int] = []
        // Uneven work, so later inputs often finish first.
        OrderedConcurrentMap.run(CountingSequence(count: 2_000, progress: progress), workers: workers, window: window,
                                 transform: { (n: Int) -> Int in
                                     var x = n
                                     for _ in 0..<((n * 7919) % 5_000) { x = (x &* 31) &+ 7 }
                                     return n + (x == Int.min ? 1 : 0)
                                 }) { value in
            results.append(value)
            progress.didDeliver()
        }
        #expect(results == Array(0..<2_000))
        #expect(progress.mostAhead <= max(window, workers) + 1, "read \(progress.mostAhead) ahead of delivery")
    }

    @Test func anEmptySequenceDeliversNothing() {
        var delivered = 0
        OrderedConcurrentMap.run([Int](), workers: 4, window: 16, transform: { $0 }) { _ in delivered += 1 }
        #expect(delivered == 0)
    }
}
