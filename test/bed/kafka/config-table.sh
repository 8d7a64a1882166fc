#!/usr/bin/env bash
# Regenerates the Kafka configuration key table, lib/config/kafka-keys-<major.minor>.json, for the
# Kafka version pinned in versions.json: installs that Kafka if needed (install-kafka.sh, a no-op
# when it is already in the cache) and runs ConfigTable.java against its jars. Run it whenever
# versions.json's "kafka" changes, and commit the result; test/integration/kafka-keys.test.ts
# fails while the committed table disagrees with the pinned Kafka.
#
#   bash test/bed/kafka/config-table.sh [out.json]
#
# Needs: JDK 17+ (java runs the single-file source program; no build step), node.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

kafka_version="$(node -p "require('$repo/versions.json').kafka")"
minor="$(echo "$kafka_version" | cut -d. -f1-2)"
libs="${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/kafka-$kafka_version/libs"
out="${1:-$repo/lib/config/kafka-keys-$minor.json}"

bash "$repo/test/bed/install-kafka.sh" >&2

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
java -Xmx256m -XX:+UseSerialGC -cp "$libs/*" "$here/ConfigTable.java" "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "config-table: wrote $out (Kafka $kafka_version)" >&2

if [[ $# -eq 0 ]] && ! grep -q "kafka-keys-$minor.json" "$repo/lib/config/kafka-keys.ts" 2>/dev/null; then
  echo "config-table: note: lib/config/kafka-keys.ts does not import kafka-keys-$minor.json yet; point its import at the new table" >&2
fi
