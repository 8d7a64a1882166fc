#!/usr/bin/env bash
# Installs the Kafka versions pinned in versions.json, "kafka" and "kafkaPrevious" (upgrade
# tests start a cluster at the previous one), from Maven Central (jars only, no tarball and no
# shell scripts), each into its own
#   ${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/kafka-<version>/libs/
# with its own marker and CDS archive. Arguments name other versions to install instead:
#   bash test/bed/install-kafka.sh [version...]
# Needs: JDK 17+, Maven 3, node. Idempotent: a complete install (marker file) returns at once.
# Nodes are started with `java -cp '<home>/libs/*' kafka.Kafka server.properties`
# (see test/support/kafka-process.ts); the pod runner picks the version from a Pod's image tag.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

command -v node >/dev/null || { echo "install-kafka: 'node' not found on PATH" >&2; exit 1; }
# One node start reads all three: "<scala> <kafka> [<kafkaPrevious>]".
read -r scala_version pinned <<< "$(node -p "const v = require('$repo/versions.json'); [v.scala, v.kafka, v.kafkaPrevious ?? ''].join(' ')")"
if [[ $# -gt 0 ]]; then versions=("$@"); else read -r -a versions <<< "$pinned"; fi
cache="${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}"
pom_sum="$(cksum < "$here/kafka/pom.xml" | cut -d' ' -f1)"

# Installs one version; run in a subshell, so its EXIT trap cleans up only its own temp dir.
install_one() {
  local kafka_version="$1"
  local home="$cache/kafka-$kafka_version"
  local libs="$home/libs"
  local marker="$home/.complete"
  # The marker records what was installed; a different pom or scala version reinstalls.
  local stamp="kafka=$kafka_version scala=$scala_version pom=$pom_sum"

  if [[ -f "$marker" && "$(cat "$marker")" == "$stamp" ]]; then
    echo "install-kafka: Kafka $kafka_version (scala $scala_version) already installed in $home"
    return 0
  fi

  for tool in java mvn; do
    command -v "$tool" >/dev/null || { echo "install-kafka: '$tool' not found on PATH" >&2; exit 1; }
  done

  echo "install-kafka: resolving org.apache.kafka:kafka_$scala_version:$kafka_version + runtime deps + log4j2 from Maven Central"
  echo "install-kafka: target $libs"
  mkdir -p "$home"
  tmp="$(mktemp -d "$home/.libs.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT

  mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" \
    -Dkafka.version="$kafka_version" \
    -Dscala.version="$scala_version" \
    -DincludeScope=runtime \
    -DoutputDirectory="$tmp" \
    dependency:copy-dependencies 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g'   # Maven 3.8 prints stray ANSI resets even with -B

  for jar in "kafka_$scala_version-$kafka_version.jar" "kafka-clients-$kafka_version.jar" "kafka-server-$kafka_version.jar"; do
    [[ -f "$tmp/$jar" ]] || { echo "install-kafka: expected $jar was not resolved" >&2; exit 1; }
  done
  ls "$tmp"/log4j-core-*.jar >/dev/null

  # Swap the new libs in atomically-ish, then write the marker last.
  rm -f "$marker"
  rm -rf "$libs"
  chmod 755 "$tmp"
  mv "$tmp" "$libs"
  trap - EXIT

  echo "install-kafka: building the class-data-sharing archive $home/kafka.jsa (starts one node once)"
  rm -f "$home/kafka.jsa"
  build_cds "$home" || echo "install-kafka: warning: CDS archive step failed" >&2

  echo "$stamp" > "$marker"
  echo "install-kafka: installed $(ls "$libs" | wc -l) jars into $libs"
}

# Class-data-sharing archive (AppCDS, dynamic): record the classes a node loads while it
# starts, so later JVMs map them instead of parsing ~45 jars (3+3 cluster: ~11 s -> ~7.5 s).
# Flags must stay compatible with DEFAULT_KAFKA_JVM_OPTS in test/support/kafka-process.ts.
# Not fatal: without the archive nodes just start slower.
build_cds() {
  local home="$1" libs="$1/libs"
  local work; work="$(mktemp -d)"
  local ports; ports="$(node -e '
    const net = require("net"); const a = net.createServer().listen(0, "127.0.0.1", () => {
      const b = net.createServer().listen(0, "127.0.0.1", () => {
        console.log(a.address().port + " " + b.address().port); a.close(); b.close(); }); });')"
  local port="${ports% *}" cport="${ports#* }"
  cat > "$work/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
log.dirs=$work/data
offsets.topic.replication.factor=1
log.cleaner.dedupe.buffer.size=16777216
PROPS
  local jvm=(-Xms128m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
             "-Dlog4j2.configurationFile=$here/kafka/log4j2.xml" "-Dkafka.logs.dir=$work" -cp "$libs/*")
  java "${jvm[@]}" kafka.tools.StorageTool format -t "$(node -p 'require("crypto").randomBytes(16).toString("base64url")')" \
    -c "$work/server.properties" --ignore-formatted >"$work/format.out" 2>&1 || { cat "$work/format.out"; rm -rf "$work"; return 1; }
  java "${jvm[@]/#-Xms128m/-XX:ArchiveClassesAtExit=$home/kafka.jsa.tmp}" kafka.Kafka "$work/server.properties" >"$work/stdout.log" 2>&1 &
  local pid=$! ok=0
  for _ in $(seq 1 600); do
    if grep -q 'Kafka Server started' "$work/server.log" 2>/dev/null; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ $ok == 1 && -s "$home/kafka.jsa.tmp" ]]; then
    mv "$home/kafka.jsa.tmp" "$home/kafka.jsa"
  else
    echo "install-kafka: warning: could not build the CDS archive (nodes will start slower)" >&2
    tail -5 "$work/server.log" "$work/stdout.log" >&2 || true
    rm -f "$home/kafka.jsa.tmp"
  fi
  rm -rf "$work"
}

for version in "${versions[@]}"; do
  ( install_one "$version" )
done
