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
            lock.lock()
            defer { lock.unlock() }
            read += 1
            mostAhead = max(mostAhead, read - delivered)
        }

        func didDeliver() {
            lock.lock()
            defer { lock.unlock() }
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

    @Test(arguments: [(1, 1), (2, 1), (3, 1), (8, 1), (2, 8), (3, 5), (8, 8)])
    func resultsComeInInputOrderWithinTheWindow(workers: Int, chunk: Int) {
        let progress = Progress()
        let window = workers * 4
        var results: [Int] = []
        // Uneven work, so later inputs often finish first.
        OrderedConcurrentMap.run(
            CountingSequence(count: 2_000, progress: progress), workers: workers, window: window, chunk: chunk,
            transform: { (n: Int) -> Int in
                var x = n
                for _ in 0..<((n * 7919) % 5_000) { x = (x &* 31) &+ 7 }
                return n + (x == Int.min ? 1 : 0)
            }
        ) { value in
            results.append(value)
            progress.didDeliver()
        }
        #expect(results == Array(0..<2_000))
        #expect(progress.mostAhead <= max(window, workers) + 1, "read \(progress.mostAhead) ahead of delivery")
    }

    /// Records the threads transforms were made on.
    final class Makers: @unchecked Sendable {
        private let lock = NSLock()
        // The Thread objects themselves, kept alive so no two can share an identity.
        private(set) var threads: [Thread] = []
        func made() -> Int {
            lock.lock()
            defer { lock.unlock() }
            threads.append(Thread.current)
            return threads.count
        }
    }

    @Test("each worker makes its own transform once, on its own thread")
    func eachWorkerHasItsOwnTransform() {
        let makers = Makers()
        var results: [Int] = []
        OrderedConcurrentMap.run(
            0..<500, workers: 3, window: 48, chunk: 4,
            makeTransform: {
                let worker = makers.made()
                return { (n: Int) -> Int in
                    var x = n
                    for _ in 0..<((n * 7919) % 3_000) { x = (x &* 31) &+ 7 }
                    return n * 10 + worker + (x == Int.min ? 1 : 0)
                }
            }
        ) { results.append($0) }
        #expect(results.map { $0 / 10 } == Array(0..<500))
        #expect(makers.threads.count == 3)
        #expect(Set(makers.threads.map(ObjectIdentifier.init)).count == 3, "each transform was made on a thread of its own")
        let caller = Thread.current
        #expect(!makers.threads.contains { $0 === caller }, "not on the calling thread")
    }

    @Test("fewer inputs than one chunk run inline, on the calling thread")
    func aFewInputsRunInline() {
        let caller = Thread.current
        let makers = Makers()
        var results: [Int] = []
        OrderedConcurrentMap.run(
            0..<5, workers: 4, window: 64, chunk: 8,
            makeTransform: {
                _ = makers.made()
                return { (n: Int) -> Int in n * 2 }
            }
        ) { results.append($0) }
        #expect(results == [0, 2, 4, 6, 8])
        #expect(makers.threads.count == 1 && makers.threads[0] === caller)
    }

    @Test func anEmptySequenceDeliversNothing() {
        var delivered = 0
        OrderedConcurrentMap.run([Int](), workers: 4, window: 16, transform: { $0 }) { _ in delivered += 1 }
        #expect(delivered == 0)
    }
}
