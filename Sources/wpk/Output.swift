import Foundation

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes text to standard output unbuffered, so it interleaves correctly with standard error.
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Writes text to standard error as is.
func printErrorText(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
