#!/usr/bin/env bash
# The test bed's bin/kafka-metadata-quorum.sh (see kafka-run-class.sh): org.apache.kafka.tools.MetadataQuorumCommand.
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" org.apache.kafka.tools.MetadataQuorumCommand "$@"
