import Dispatch
import Foundation

/// Maps a stream of inputs on several threads and hands the results back in input order, with a
/// bounded window so a stream of any length runs in flat memory.
///
/// The caller's thread reads the inputs and receives every result (so it alone writes output);
/// `transform` runs on Dispatch's global queue. At most `window` inputs are read and not yet
/// delivered at any time: a slow first file holds back reading, never memory.
public enum OrderedConcurrentMap {
    /// Applies `transform` to every element of `inputs` on up to `workers` threads and calls
    /// `deliver` on the calling thread with each result, in the order of `inputs`. With one
    /// worker everything runs inline on the calling thread.
    public static func run<Inputs: Sequence, Output: Sendable>(
        _ inputs: Inputs, workers: Int, window: Int,
        transform: @escaping @Sendable (Inputs.Element) -> Output,
        deliver: (Output) -> Void
    ) where Inputs.Element: Sendable {
        guard workers > 1 else {
            for input in inputs { deliver(transform(input)) }
            return
        }
        let window = max(window, workers)
        let finished = FinishedResults<Output>()
        let slots = DispatchSemaphore(value: workers)
        let queue = DispatchQueue.global(qos: .userInitiated)
        var submitted = 0
        var delivered = 0

        func deliverReady(waitingForOne: Bool) {
            for output in finished.take(from: delivered, waiting: waitingForOne) {
                deliver(output)
                delivered += 1
            }
        }

        for input in inputs {
            while submitted - delivered >= window { deliverReady(waitingForOne: true) }
            let index = submitted
            submitted += 1
            // The semaphore caps running transforms at `workers` (Dispatch would otherwise add
            // threads while one blocks reading a file).
            queue.async {
                slots.wait()
                let output = transform(input)
                slots.signal()
                finished.put(output, at: index)
            }
            deliverReady(waitingForOne: false)
        }
        while delivered < submitted { deliverReady(waitingForOne: true) }
    }
}

/// Results finished by the workers and not yet taken, by input index.
private final class FinishedResults<Output: Sendable>: @unchecked Sendable {
    // Every access holds `condition`'s lock.
    private let condition = NSCondition()
    private var results: [Int: Output] = [:]

    func put(_ output: Output, at index: Int) {
        condition.lock()
        results[index] = output
        condition.signal()
        condition.unlock()
    }

    /// The consecutive results from `index` on that are finished; with `waiting`, at least the one
    /// at `index` (blocking until a worker puts it).
    func take(from index: Int, waiting: Bool) -> [Output] {
        condition.lock()
        defer { condition.unlock() }
        if waiting {
            while results[index] == nil { condition.wait() }
        }
        var out: [Output] = []
        var next = index
        while let output = results.removeValue(forKey: next) {
            out.append(output)
            next += 1
        }
        return out
    }
}
