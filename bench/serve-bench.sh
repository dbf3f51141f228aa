#!/bin/sh
# wpk serve under wrk: requests/s and latency percentiles of an accepted webhook (it starts a
# `wpk run`, answered once the run's run_started is in the ledger) and of a refused one (wrong
# signature, 401). Runs as root: a policy allowing auto mode is mounted over /etc/wpk in a private
# mount namespace of the server only (the machine's /etc/wpk is untouched).
# Usage: bench/serve-bench.sh [WPK (default .build/release/wpk)] [SECONDS (20)] [CONNECTIONS (4)]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
wpk=$(realpath "${1:-$root/.build/release/wpk}")
seconds=${2:-20}
connections=${3:-4}
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/policy" "$work/playbooks" "$work/state"
printf 'mode: auto\n' > "$work/policy/policy.yaml"
chmod -R go-w "$work/policy"
# The test fixture, with room for every run at once: the cap is not what is measured.
sed 's/max_concurrency: 3/max_concurrency: 10000/' "$root/Tests/Fixtures/serve/hook.wpk.yaml" > "$work/playbooks/hook.wpk.yaml"
export WPK_LEDGER="$work/ledger.jsonl" WPK_TEST_HOOK_KEY=bench-key XDG_STATE_HOME="$work/state"
[ -d /etc/wpk ] || mkdir -m 755 /etc/wpk
unshare --mount --propagation private sh -c 'mount --bind "$1" /etc/wpk && shift && exec "$@"' sh "$work/policy" \
    "$wpk" serve --listen 127.0.0.1:0 "$work/playbooks" 2> "$work/serve.log" &
server=$!
tries=0
until grep -q 'address=127.0.0.1:' "$work/serve.log"; do
    tries=$((tries + 1)); [ $tries -lt 600 ] || { cat "$work/serve.log"; exit 1; }; sleep 0.1
done
port=$(grep -o 'address=127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) processors; $wpk"
echo "== refused webhook (wrong signature, 401), $connections connections, ${seconds}s"
wrk -t2 -c"$connections" -d"${seconds}s" --timeout 30s --latency -s "$root/bench/serve-refused.lua" "http://127.0.0.1:$port/hooks/restart"
python3 "$root/bench/serve_signed_requests.py" bench-key 20000 > "$work/signed.lua"
echo "== accepted webhook (starts a wpk run, 202), $connections connections, ${seconds}s"
wrk -t1 -c"$connections" -d"${seconds}s" --timeout 30s --latency -s "$work/signed.lua" "http://127.0.0.1:$port/hooks/restart"
echo "server peak memory: $(grep VmHWM /proc/$server/status 2>/dev/null || echo '?'); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Every answered run must be in the ledger and end (they are separate processes: wait for them).
started() { grep -c '"type":"run_started"' "$WPK_LEDGER" || true; }
finished() { grep -c '"type":"run_finished"' "$WPK_LEDGER" || true; }
tries=0
while [ "$(finished)" -lt "$(started)" ] && [ $tries -lt 600 ]; do tries=$((tries + 1)); sleep 0.1; done
echo "runs recorded: $(started) started, $(finished) finished"
