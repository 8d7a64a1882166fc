#!/usr/bin/env bash
# Installs the Kafka version pinned in versions.json from Maven Central (jars only, no
# tarball and no shell scripts) into
#   ${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/kafka-<kafka>/libs/
# Needs: JDK 17+, Maven 3, node. Idempotent: a complete install (marker file) returns at once.
# Nodes are started with `java -cp '<home>/libs/*' kafka.Kafka server.properties`
# (see test/support/kafka-process.ts).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

kafka_version="$(node -p "require('$repo/versions.json').kafka")"
scala_version="$(node -p "require('$repo/versions.json').scala")"
cache="${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}"
home="$cache/kafka-$kafka_version"
libs="$home/libs"
marker="$home/.complete"
# The marker records what was installed; a different pom or scala version reinstalls.
stamp="kafka=$kafka_version scala=$scala_version pom=$(cksum < "$here/kafka/pom.xml" | cut -d' ' -f1)"

if [[ -f "$marker" && "$(cat "$marker")" == "$stamp" ]]; then
  echo "install-kafka: Kafka $kafka_version (scala $scala_version) already installed in $home"
  exit 0
fi

for tool in java mvn node; do
  command -v "$tool" >/dev/null || { echo "install-kafka: '$tool' not found on PATH" >&2; exit 1; }
done

echo "install-kafka: resolving org.apache.kafka:kafka_$scala_version:$kafka_version + runtime deps + log4j2 from Maven Central"
echo "install-kafka: target $libs"
mkdir -p "$home"
tmp="$(mktemp -d "$home/.libs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

mvn -q -B -f "$here/kafka/pom.xml" \
  -Dkafka.version="$kafka_version" \
  -Dscala.version="$scala_version" \
  -DincludeScope=runtime \
  -DoutputDirectory="$tmp" \
  dependency:copy-dependencies

for jar in "kafka_$scala_version-$kafka_version.jar" "kafka-clients-$kafka_version.jar" "kafka-server-$kafka_version.jar"; do
  [[ -f "$tmp/$jar" ]] || { echo "install-kafka: expected $jar was not resolved" >&2; exit 1; }
done
ls "$tmp"/log4j-core-*.jar >/dev/null

# Swap the new libs in atomically-ish, then write the marker last.
rm -rf "$libs"
mv "$tmp" "$libs"
trap - EXIT
echo "$stamp" > "$marker"
echo "install-kafka: installed $(ls "$libs" | wc -l) jars into $libs"
