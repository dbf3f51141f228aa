/// Where wpk keeps what an account remembers between runs (heads verified, ledger snapshots,
/// schedule fires): `$XDG_STATE_HOME/wpk` when that is an absolute path, else `~/.local/state/wpk`.
public enum StateDirectory {
    public static func path(environment: [String: String], home: String) -> String {
        let state = environment["XDG_STATE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? home + "/.local/state"
        return state + "/wpk"
    }
}
