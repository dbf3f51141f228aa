import Foundation

/// Maps a stream of inputs on several threads and hands the results back in input order, with a
/// bounded window so a stream of any length runs in flat memory.
///
/// The caller's thread reads the inputs and receives every result (so it alone writes output);
/// `workers` threads of its own run the transforms, each with the transform `makeTransform`
/// made for it (so a worker can hold state no other thread touches). At most `window` inputs are
/// read and not yet delivered at any time: a slow first file holds back reading, never memory.
public enum OrderedConcurrentMap {
    /// Applies a transform to every element of `inputs` on up to `workers` threads and calls
    /// `deliver` on the calling thread with each result, in the order of `inputs`. Each worker
    /// calls `makeTransform` once, on its own thread; with one worker, or fewer inputs than one
    /// chunk, everything runs inline on the calling thread.
    ///
    /// Inputs go to the workers `chunk` at a time (fewer when the window is too small for every
    /// worker to hold a chunk): each hand-over wakes threads, which costs more than checking a
    /// small file.
    public static func run<Inputs: Sequence, Output: Sendable>(
        _ inputs: Inputs, workers: Int, window: Int, chunk: Int = 1,
        makeTransform: @escaping @Sendable () -> (Inputs.Element) -> Output,
        deliver: (Output) -> Void
    ) where Inputs.Element: Sendable {
        guard workers > 1 else {
            let transform = makeTransform()
            for input in inputs { deliver(transform(input)) }
            return
        }
        let window = max(window, workers)
        let chunk = max(1, min(chunk, window / workers))
        // Fewer inputs than one chunk (one file, the usual command line) run inline: starting
        // threads would cost more than they could save.
        var iterator = inputs.makeIterator()
        var batch: [Inputs.Element] = []
        batch.reserveCapacity(chunk)
        while batch.count < chunk, let input = iterator.next() { batch.append(input) }
        if batch.count < chunk {
            let transform = makeTransform()
            for input in batch { deliver(transform(input)) }
            return
        }
        let batchesInFlight = max(workers, window / chunk)
        let work = WorkQueue<Inputs.Element>()
        let finished = FinishedResults<[Output]>()
        let stopped = DispatchGroup()
        for _ in 0..<workers {
            stopped.enter()
            let thread = Thread {
                let transform = makeTransform()
                while let (index, batch) = work.take() {
                    finished.put(batch.map(transform), at: index)
                }
                stopped.leave()
            }
            // Room for deep schemas; the schema evaluator stops well before the end anyway.
            thread.stackSize = 8 << 20
            thread.start()
        }

        var submitted = 0
        var delivered = 0
        func deliverReady(waitingForOne: Bool) {
            for outputs in finished.take(from: delivered, waiting: waitingForOne) {
                for output in outputs { deliver(output) }
                delivered += 1
            }
        }

        while true {
            while submitted - delivered >= batchesInFlight { deliverReady(waitingForOne: true) }
            while batch.count < chunk, let input = iterator.next() { batch.append(input) }
            guard !batch.isEmpty else { break }
            work.put(batch, at: submitted)
            submitted += 1
            batch.removeAll(keepingCapacity: true)
            deliverReady(waitingForOne: false)
        }
        work.close()
        while delivered < submitted { deliverReady(waitingForOne: true) }
        stopped.wait()
    }

    /// `run` with one transform shared by every worker.
    public static func run<Inputs: Sequence, Output: Sendable>(
        _ inputs: Inputs, workers: Int, window: Int, chunk: Int = 1,
        transform: @escaping @Sendable (Inputs.Element) -> Output,
        deliver: (Output) -> Void
    ) where Inputs.Element: Sendable {
        run(inputs, workers: workers, window: window, chunk: chunk, makeTransform: { transform }, deliver: deliver)
    }
}

/// Batches waiting for a worker, oldest first; `take` blocks until one comes or the queue closes.
private final class WorkQueue<Element: Sendable>: @unchecked Sendable {
    // Every access holds `condition`'s lock.
    private let condition = NSCondition()
    private var waiting: [(index: Int, batch: [Element])] = []
    private var next = 0
    private var closed = false

    func put(_ batch: [Element], at index: Int) {
        condition.lock()
        waiting.append((index, batch))
        condition.signal()
        condition.unlock()
    }

    /// No more batches will come: workers finish what is queued, then stop.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// The oldest waiting batch, or nil once the queue is closed and empty.
    func take() -> (Int, [Element])? {
        condition.lock()
        defer { condition.unlock() }
        while next == waiting.count && !closed { condition.wait() }
        guard next < waiting.count else { return nil }
        let taken = waiting[next]
        waiting[next].batch = []
        next += 1
        // Drop what every worker has taken once the queue runs empty, so it never grows.
        if next == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            next = 0
        }
        return taken
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
