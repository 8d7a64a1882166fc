#!/usr/bin/env bash
# The test bed's bin/kafka-server-start.sh (see kafka-run-class.sh): kafka.Kafka with the
# real script's defaults (a 1G heap, capped by kafka-run-class.sh; EXTRA_ARGS
# "-name kafkaServer -loggc"). Like the bed's other nodes, it shrinks the log cleaner's
# dedupe buffer (Kafka's 128 MiB default, reallocated on each cleaner reconfiguration,
# overflows a bed-sized heap) unless the properties file sets it.
set -euo pipefail
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
  exit 1
fi
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
extra_args="${EXTRA_ARGS:--name kafkaServer -loggc}"
if [ "$1" = -daemon ]; then extra_args="-daemon $extra_args"; shift; fi
overrides=()
if ! grep -Eq '^[[:space:]]*log\.cleaner\.dedupe\.buffer\.size[[:space:]]*[=:]' "$1" 2>/dev/null \
  && [[ " $* " != *" log.cleaner.dedupe.buffer.size="* ]]; then
  overrides=(--override log.cleaner.dedupe.buffer.size=16777216)
fi
# shellcheck disable=SC2086 # EXTRA_ARGS is a word list, as in the real script
exec "$bin/kafka-run-class.sh" $extra_args kafka.Kafka "$@" ${overrides[@]+"${overrides[@]}"}
