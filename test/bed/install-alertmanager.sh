#!/usr/bin/env bash
# Provides a real Prometheus Alertmanager for the test bed, from Debian's package
# prometheus-alertmanager (the controller holds rolling restarts while an alert with the
# hold label fires; test/support/alertmanager.ts starts it, test/integration/alertmanager.test.ts
# proves lib/controller/adapters/alertmanager.ts against it).
#
#   bash test/bed/install-alertmanager.sh         install into the cache (fast no-op when present)
#   bash test/bed/install-alertmanager.sh path    print the binary the bed uses
#
# Output:  ${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/alertmanager/usr/bin/prometheus-alertmanager
#          ${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}/alertmanager/.complete  (Debian version, layout)
# run with that alertmanager/ directory as its working directory (see the last paragraph).
# The .deb is fetched with `apt-get download` and unpacked with `dpkg-deb -x`: nothing is
# installed system-wide, so the binary is at a known path and no service is started. The
# version is whatever the machine's Debian release ships (not pinned in versions.json:
# the archive keeps only its current build); delete the directory above to fetch anew.
# Without apt (or when the download fails) an installed /usr/bin/prometheus-alertmanager
# is used instead. alertmanagerBinary() in test/support/alertmanager.ts applies the same rule.
#
# One change to the unpacked binary: Debian's build reads its default notification
# templates (without which it refuses its config and exits) and its UI files from the
# absolute /usr/share/prometheus/alertmanager, compiled in (no flag moves it). The script
# rewrites that string in place to the same-length relative "usr/share/prometheus//alertmanager",
# and the bed runs the binary with the unpacked root as working directory, so it reads the
# package's own files from the cache. Nothing else in the binary changes.
set -euo pipefail

mode=${1:-install}
CACHE=${KAFKA_CDK8S_CACHE:-$HOME/.cache/kafka-cdk8s}
DIR="$CACHE/alertmanager"
BIN="$DIR/usr/bin/prometheus-alertmanager"
MARKER="$DIR/.complete"
# The marker holds the Debian version and this layout; an older layout is reinstalled.
LAYOUT="relative-data-paths"
SYSTEM_BIN=/usr/bin/prometheus-alertmanager
PKG=prometheus-alertmanager

die() { echo "install-alertmanager: $*" >&2; exit 1; }
log() { echo "install-alertmanager: $*" >&2; }

# `--version` proves the binary runs on this machine (it links libc dynamically).
runs() { "$1" --version >/dev/null 2>&1; }
version_line() { "$1" --version 2>&1 | head -1; }

if [ "$mode" = path ]; then
  if [ -f "$MARKER" ] && grep -q " $LAYOUT\$" "$MARKER" && [ -x "$BIN" ]; then echo "$BIN"
  elif [ -x "$SYSTEM_BIN" ]; then echo "$SYSTEM_BIN"
  else die "no Alertmanager: run bash test/bed/install-alertmanager.sh"; fi
  exit 0
fi
[ "$mode" = install ] || die "unknown mode '$mode' (install | path)"

if [ -f "$MARKER" ] && grep -q " $LAYOUT\$" "$MARKER" && [ -x "$BIN" ] && runs "$BIN"; then
  log "present: $BIN (Debian $(cut -d" " -f1 "$MARKER"); $(version_line "$BIN"))"
  exit 0
fi

use_system() { # the fallback: an Alertmanager installed with apt-get install
  [ -x "$SYSTEM_BIN" ] && runs "$SYSTEM_BIN" || return 1
  log "using the installed $SYSTEM_BIN (Debian $(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || echo unknown); $(version_line "$SYSTEM_BIN"))"
  exit 0
}

if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null || ! command -v node >/dev/null; then
  use_system || die "apt-get, dpkg-deb or node not found and no $SYSTEM_BIN: install Debian's $PKG"
fi

# Only `apt-get update` needs root; `apt-get download` works as any user.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else return 1; fi
}
candidate() { apt-cache policy "$PKG" 2>/dev/null | awk '/Candidate:/ {print $2}'; }

start=$SECONDS
# A fresh machine has no package lists yet (or lists without the package): update once.
if [ -z "$(candidate)" ] || [ "$(candidate)" = "(none)" ]; then
  log "no package list knows $PKG yet: apt-get update"
  as_root apt-get update -qq >&2 || log "apt-get update failed (not root and no sudo?)"
fi

mkdir -p "$CACHE"
tmp="$(mktemp -d "$CACHE/.alertmanager.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# As root, apt drops to the _apt user to download, which cannot write into a private
# temp dir (it warns, then downloads as root anyway): say so up front.
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
if ! (cd "$tmp" && apt-get download -qq "${sandbox[@]}" "$PKG" >&2); then
  use_system || die "apt-get download $PKG failed and there is no $SYSTEM_BIN"
fi
deb="$(ls "$tmp"/"$PKG"_*.deb)"
version="$(dpkg-deb -f "$deb" Version)"
dpkg-deb -x "$deb" "$tmp/root"
new_bin="$tmp/root/usr/bin/prometheus-alertmanager"
[ -f "$tmp/root/usr/share/prometheus/alertmanager/default.tmpl" ] ||
  die "$PKG $version has no usr/share/prometheus/alertmanager/default.tmpl: its layout changed"
# See the header: make the compiled-in data path relative to the working directory.
patched=$(node -e '
  const fs = require("fs"), file = process.argv[1];
  const from = Buffer.from("/usr/share/prometheus/alertmanager"), to = Buffer.from("usr/share/prometheus//alertmanager");
  const b = fs.readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(from); i !== -1; i = b.indexOf(from, i + from.length)) { to.copy(b, i); n++; }
  fs.writeFileSync(file, b);
  console.log(n);' "$new_bin")
[ "$patched" -ge 1 ] || die "$PKG $version: /usr/share/prometheus/alertmanager not found in the binary: its build changed"
runs "$new_bin" || die "the unpacked binary does not run: $("$new_bin" --version 2>&1 | head -3)"

# Swap the new tree in, then write the marker last (an interrupted install is redone).
rm -rf "$DIR"
mv "$tmp/root" "$DIR"
echo "$version $LAYOUT" > "$MARKER"
log "installed Debian $PKG $version in $((SECONDS - start)) s ($patched data paths made relative): $BIN ($(version_line "$BIN"))"
