#!/bin/sh
# Signs the example playbooks with the published TEST key (Tests/Fixtures/signing/README.md).
# Run after changing an example; ExampleTests fails while a signature is stale.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
wpk=${WPK:-$root/.build/debug/wpk}
key=$(mktemp)
trap 'rm -f "$key"' EXIT
chmod 600 "$key"
cat "$root/Tests/Fixtures/signing/TEST-ONLY-wpk-example.pem" > "$key"
"$wpk" sign --key "$key" "$root"/examples/playbooks/*.wpk.yaml
