#!/usr/bin/env bash
# Regenerates the typed CRD classes in imports/ from the CRD files kept in imports/crds
# (sources and licences: imports/crds/README.md), offline, with `cdk8s import`.
# cdk8s import writes one module per API group and rewrites it on each run, so each
# group's CRD files are concatenated and imported together. It runs in a scratch
# directory: run in the repo, cdk8s import would append its inputs to cdk8s.yaml.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/imports}" && cd "${1:-$root/imports}" && pwd)"
crds="$root/imports/crds"
cdk8s="$root/node_modules/.bin/cdk8s"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for group in monitoring.coreos.com cert-manager.io networking.istio.io; do
  for f in "$crds/${group}"_*.yaml; do cat "$f"; printf '\n---\n'; done > "$work/$group.yaml"
  (cd "$work" && CDK8S_CHECK_UPGRADE=false "$cdk8s" import "$work/$group.yaml" --language typescript --output "$out")
done
