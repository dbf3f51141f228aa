#!/bin/sh
# What verifying playbook signatures adds to a release `wpk validate` (docs/benchmarks.md, "Profiled"):
# 1,000 signed copies of the examples and the same copies unsigned, validated under a test policy
# (mounted over /etc/wpk in a private mount namespace: run as root) naming no key or the example
# key; callgrind instruction counts (repeatable under load), then CPU and wall time with hyperfine.
# Usage: bench/signature-profile.sh [WPK (default .build/release/wpk)] [WORK DIR (default /tmp/wpk-sigbench)]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
B=${2:-/tmp/wpk-sigbench}
mkdir -p "$B"
# valgrind 3.19 cannot read the lld-linked binary's DWARF: profile a copy without debug info.
cp "${1:-$root/.build/release/wpk}" "$B/wpk" && strip --strip-debug "$B/wpk"
W=$B/wpk
src=$root/examples/playbooks
key=$root/Tests/Fixtures/signing/TEST-ONLY-wpk-example.pem
rm -rf "$B/signed" "$B/unsigned" "$B/cache"
mkdir -p "$B/signed" "$B/unsigned" "$B/policy-none" "$B/policy-trusted/trusted-keys"
printf 'min_approvals: 1\n' > "$B/policy-none/policy.yaml"
printf 'trusted_keys: /etc/wpk/trusted-keys\n' > "$B/policy-trusted/policy.yaml"
cp "$root/examples/keys/wpk-example.pub" "$B/policy-trusted/trusted-keys/"
chmod -R go-w "$B/policy-none" "$B/policy-trusted"
set -- $(ls "$src"/*.wpk.yaml)
n=$#
i=0
while [ $i -lt 1000 ]; do
    f=$(eval echo \${$((i % n + 1))}); b=$(basename "$f")
    # Each copy unique (a trailing comment), so no two share a remembered verdict.
    d=$B/signed/$((i / 100))/$i; mkdir -p "$d"
    { cat "$f"; echo "# copy $i"; } > "$d/$b"
    openssl pkeyutl -sign -rawin -inkey "$key" -in "$d/$b" | base64 -w0 > "$d/$b.sig"
    u=$B/unsigned/$((i / 100))/$i; mkdir -p "$u"
    { awk '/^  signature:/{skip = ($0 !~ /{/); next} skip && /^    /{next} {skip = 0; print}' "$f"; echo "# copy $i"; } > "$u/$b"
    i=$((i + 1))
done
inpolicy() { p=$1; shift; unshare --mount --propagation private sh -c 'mount --bind "$1" /etc/wpk && shift && exec "$@"' sh "$B/$p" "$@"; }
export XDG_CACHE_HOME=$B/cache
inpolicy policy-none "$W" validate --jobs 1 "$B/unsigned/0/0" > /dev/null || true   # the metaschema verdict, warm
cg() {
    inpolicy "$2" valgrind --tool=callgrind --callgrind-out-file="$B/callgrind.$1" "$W" validate --jobs 1 "$3" 2>&1 > /dev/null \
        | sed -n "s/.*Collected : /$1: instructions /p"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cg unsigned policy-none "$B/unsigned"
cg signed-untrusted policy-none "$B/signed"
rm -rf "$B/cache/wpk/signature-verified" "$B/cache/wpk/signature-verified.log"
cg signed-first policy-trusted "$B/signed"
cg signed-remembered policy-trusted "$B/signed"
cmd() { echo "unshare --mount --propagation private sh -c 'mount --bind \"\$1\" /etc/wpk && shift && exec \"\$@\"' sh $B/$1 $W validate $2"; }
hyperfine --output=null --style basic --warmup 2 --runs 10 \
    --prepare true --prepare true --prepare "rm -rf $B/cache/wpk/signature-verified $B/cache/wpk/signature-verified.log" --prepare true \
    -n unsigned "$(cmd policy-none "$B/unsigned")" -n signed-untrusted "$(cmd policy-none "$B/signed")" \
    -n signed-first "$(cmd policy-trusted "$B/signed")" -n signed-remembered "$(cmd policy-trusted "$B/signed")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
