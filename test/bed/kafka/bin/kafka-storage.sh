#!/usr/bin/env bash
# The test bed's bin/kafka-storage.sh (see kafka-run-class.sh): kafka.tools.StorageTool.
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
