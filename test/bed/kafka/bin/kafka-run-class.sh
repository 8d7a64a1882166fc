#!/usr/bin/env bash
# The test bed's stand-in for the Kafka distribution's bin/kafka-run-class.sh: runs a
# Kafka main class from the bed's jars (${KAFKA_CDK8S_CACHE:-~/.cache/kafka-cdk8s}/
# kafka-<version>/libs, installed by test/bed/install-kafka.sh, which ships no scripts).
# The pod runner (test/support/pod-runner.ts) maps a Pod's /opt/kafka here, so the
# Pod's own start script and probes run these wrappers as they would run the image's;
# it sets KAFKA_CDK8S_BED_KAFKA_HOME to the install of the version the image's tag
# names (e.g. kafka-4.3.1 for apache/kafka:4.3.1). Unset: versions.json's kafka.
#
#   kafka-run-class.sh [-daemon] [-name NAME] [-loggc] CLASS [ARGS...]
#
# The image-style env is honoured as the real script does, with the bed's limits:
#   KAFKA_HEAP_OPTS   honoured but capped (a Pod's heap is sized for its own memory
#                     limit; the bed runs six JVMs plus tools on two cores): -Xmx at
#                     384m for kafka.Kafka and 128m for tools, -Xms at 128m / 32m.
#   KAFKA_LOG4J_OPTS  honoured; default: server.log in LOG_DIR for kafka.Kafka (the
#                     bed's log4j2.xml), WARN to stderr for tools (like the image).
#   LOG_DIR           -Dkafka.logs.dir, created if missing.
#   KAFKA_OPTS        appended as is.
#   -loggc            a GC log in LOG_DIR, as the real script writes one.
# Replaced by the bed's: KAFKA_JVM_PERFORMANCE_OPTS (serial GC, C1 only: fast starts on
# small machines), JMX (never enabled: ports would collide). The CDS archive written by
# install-kafka.sh is used when present (KAFKA_CDK8S_NO_CDS=1 turns it off).
set -euo pipefail

bin="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$bin/../../../.." && pwd)"

if [ -n "${KAFKA_CDK8S_BED_KAFKA_HOME:-}" ]; then
  home="$KAFKA_CDK8S_BED_KAFKA_HOME"
else
  version="$(sed -n 's/^[[:space:]]*"kafka":[[:space:]]*"\([^"]*\)".*/\1/p' "$repo/versions.json")"
  home="${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/kafka-$version"
fi
if [ ! -d "$home/libs" ]; then
  echo "kafka-run-class.sh (test bed): no Kafka jars in $home/libs; run bash test/bed/install-kafka.sh" >&2
  exit 1
fi

daemon=false
name=""
loggc=false
while [ $# -gt 0 ]; do
  case "$1" in
    -daemon) daemon=true; shift ;;
    -name) name="$2"; shift 2 ;;
    -loggc) loggc=true; shift ;;
    *) break ;;
  esac
done
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] [-name servicename] [-loggc] classname [opts]" >&2
  exit 1
fi
if [ "$daemon" = true ]; then
  echo "kafka-run-class.sh (test bed): -daemon is not supported (a container runs Kafka in the foreground)" >&2
  exit 1
fi
main="$1"
shift

if [ "$main" = kafka.Kafka ]; then
  max_mib=384 min_mib=128
  perf=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true)
else
  max_mib=128 min_mib=32
  perf=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)
fi

# A JVM size (e.g. 1g, 512M, 1073741824) in MiB, rounded up; empty when unreadable.
mib() {
  local v="${1,,}" n unit
  n="${v%[kmgt]}"
  unit="${v:${#n}}"
  [[ "$n" =~ ^[0-9]+$ ]] || return 0
  case "$unit" in
    '') echo $(( (n + 1048575) / 1048576 )) ;;
    k) echo $(( (n + 1023) / 1024 )) ;;
    m) echo "$n" ;;
    g) echo $(( n * 1024 )) ;;
    t) echo $(( n * 1024 * 1024 )) ;;
  esac
}

# The real script's default heap when the env sets none, then capped.
heap=()
for opt in ${KAFKA_HEAP_OPTS:--Xmx256M}; do
  case "$opt" in
    -Xmx*) m="$(mib "${opt#-Xmx}")"; m="${m:-0}"; heap+=("-Xmx$(( m > 0 && m < max_mib ? m : max_mib ))m") ;;
    -Xms*) m="$(mib "${opt#-Xms}")"; m="${m:-0}"; heap+=("-Xms$(( m > 0 && m < min_mib ? m : min_mib ))m") ;;
    *) heap+=("$opt") ;;
  esac
done
[[ " ${heap[*]} " == *" -Xmx"* ]] || heap+=("-Xmx${max_mib}m")

log_dir="${LOG_DIR:-${TMPDIR:-/tmp}/kafka-bed-logs}"
mkdir -p "$log_dir"

log4j=()
if [ -n "${KAFKA_LOG4J_OPTS:-}" ]; then
  read -r -a log4j <<< "$KAFKA_LOG4J_OPTS"
elif [ "$main" = kafka.Kafka ]; then
  log4j=("-Dlog4j2.configurationFile=$repo/test/bed/kafka/log4j2.xml")
else
  log4j=("-Dlog4j2.configurationFile=$bin/tools-log4j2.properties")
fi

cds=()
if [ -f "$home/kafka.jsa" ] && [ "${KAFKA_CDK8S_NO_CDS:-}" != 1 ]; then
  cds=("-XX:SharedArchiveFile=$home/kafka.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off)
fi

gc=()
if [ "$loggc" = true ]; then
  gc=("-Xlog:gc*:file=$log_dir/${name:-kafka}-gc.log:time,tags:filecount=10,filesize=100M")
fi

extra=()
if [ -n "${KAFKA_OPTS:-}" ]; then read -r -a extra <<< "$KAFKA_OPTS"; fi

java="java"
if [ -n "${JAVA_HOME:-}" ]; then java="$JAVA_HOME/bin/java"; fi

# ${a[@]+"${a[@]}"}: an empty array under set -u (bash < 4.4 calls it unbound).
exec "$java" "${heap[@]}" "${perf[@]}" ${cds[@]+"${cds[@]}"} ${gc[@]+"${gc[@]}"} "-Dkafka.logs.dir=$log_dir" \
  ${log4j[@]+"${log4j[@]}"} ${extra[@]+"${extra[@]}"} -cp "$home/libs/*" "$main" "$@"
