#!/usr/bin/env bash
# Builds the GitOps half of the test bed from the Go module proxy: two small CLIs in
# test/bed/go/gitops that run Flux's and Argo CD's own code paths (see the comments at the
# top of their main.go):
#   flux-apply        kustomize-controller's staged server-side apply + prune (fluxcd/pkg/ssa)
#   argocd-normalize  Argo CD's ignoreDifferences normalizer (gojq `del(expr)`)
#
#   bash test/bed/install-gitops.sh          build into the cache (fast no-op when present)
#   bash test/bed/install-gitops.sh tidy     run `go mod tidy` in test/bed/go/gitops (after
#                                            changing a version or an import there)
#   bash test/bed/install-gitops.sh paths    print the two binary paths
#
# Output:  ${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/gitops-<hash>/bin/{flux-apply,argocd-normalize}
# where <hash> is the first 16 hex digits of the sha256 over `sha256sum` of go.mod, go.sum
# and every *.go file of test/bed/go/gitops (sorted paths, "./"-relative), so any change
# to the module builds a new pair. gitopsBinaries() in test/support/flux.ts computes the same hash.
# Go module and build caches live in the same cache directory as install-kube.sh's (go/mod,
# go/build); KAFKA_CDK8S_GO_CACHES=env uses the caller's GOMODCACHE/GOCACHE instead.
set -euo pipefail

mode=${1:-install}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}
MODDIR="$ROOT/test/bed/go/gitops"

die() { echo "install-gitops: $*" >&2; exit 1; }
log() { echo "install-gitops: $*" >&2; }

command -v sha256sum >/dev/null || die "sha256sum is not installed (coreutils)"

module_hash() {
  (cd "$MODDIR" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort |
    while IFS= read -r f; do sha256sum "$f"; done) | sha256sum | cut -c1-16
}
OUT="$CACHE/gitops-$(module_hash)/bin"
FLUX_APPLY="$OUT/flux-apply"
ARGOCD_NORMALIZE="$OUT/argocd-normalize"

if [ "$mode" = paths ]; then
  echo "$FLUX_APPLY"
  echo "$ARGOCD_NORMALIZE"
  exit 0
fi

command -v go >/dev/null || die "go is not installed (need Go >= 1.26)"
export GOTOOLCHAIN=local
export GOFLAGS="-buildvcs=false -mod=readonly"
export CGO_ENABLED=0
if [ "${KAFKA_CDK8S_GO_CACHES:-}" != env ]; then
  export GOMODCACHE="$CACHE/go/mod"
  export GOCACHE="$CACHE/go/build"
fi

if [ "$mode" = tidy ]; then
  export GOFLAGS="-buildvcs=false -mod=mod"
  (cd "$MODDIR" && go mod tidy)
  log "done; commit test/bed/go/gitops/go.mod and go.sum"
  exit 0
fi

[ "$mode" = install ] || die "unknown mode '$mode' (install | tidy | paths)"

if [ -x "$FLUX_APPLY" ] && [ -x "$ARGOCD_NORMALIZE" ]; then
  log "present: $OUT"
  exit 0
fi

log "building flux-apply and argocd-normalize -> $OUT (first build downloads modules and compiles; a few minutes)"
start=$SECONDS
mkdir -p "$OUT"
tmp="$OUT/.tmp.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$MODDIR" && go build -trimpath -ldflags="-s -w" -o "$tmp/" ./cmd/flux-apply ./cmd/argocd-normalize) ||
  die "building the gitops tools failed"
mv -f "$tmp/flux-apply" "$FLUX_APPLY"
mv -f "$tmp/argocd-normalize" "$ARGOCD_NORMALIZE"
log "built in $((SECONDS - start)) s: $FLUX_APPLY, $ARGOCD_NORMALIZE"
