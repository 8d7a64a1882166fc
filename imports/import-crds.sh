#!/usr/bin/env bash
# Regenerates the typed CRD classes in imports/ from ../shared/crds with `cdk8s import`
# (offline). cdk8s import writes one module per API group and rewrites it on each run,
# so each group's CRD files are concatenated and imported together.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/imports}"
crds="${KAFKA_CDK8S_SHARED:-$root/../shared}/crds"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for group in monitoring.coreos.com cert-manager.io networking.istio.io; do
  for f in "$crds/${group}"_*.yaml; do cat "$f"; printf '\n---\n'; done > "$work/$group.yaml"
  (cd "$root" && npx --no-install cdk8s import "$work/$group.yaml" --language typescript --output "$out")
done
