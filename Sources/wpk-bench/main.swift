// wpk-bench: performance numbers printed as text; the review UI's are recorded in specs/review-tui.md.
ReviewBenchmark.run()
