#!/usr/bin/env bash
# The test bed's bin/kafka-topics.sh (see kafka-run-class.sh): org.apache.kafka.tools.TopicCommand.
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" org.apache.kafka.tools.TopicCommand "$@"
