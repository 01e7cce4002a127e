#!/usr/bin/env bash
# Build the upstream apiextensions-apiserver (a real Kubernetes API server for CRDs and custom objects)
# from Debian sid's Go source packages, offline in GOPATH mode, into a cache dir outside the work tree.
# Only the first run pays (about 2-3 min); later runs find the binary and exit at once.
# Usage: build-apiserver.sh [CACHE_DIR]   (default ~/.cache/link-assistant-router/k8s)
set -euo pipefail
W=${1:-${LAR_K8S_CACHE:-$HOME/.cache/link-assistant-router/k8s}}
BIN="$W/bin/apiextensions-apiserver"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$W"/apt/lists/partial "$W"/apt/cache/archives/partial "$W"/root "$W"/bin
# The unpacked tree, build cache and debs are 3 GB; only the binary is kept, whatever happens.
trap 'rm -rf "$W"/root "$W"/gocache "$W"/apt/cache/archives "$BIN.tmp"' EXIT
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [ -z "$MIRROR" ]; then
  MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
[ -n "$MIRROR" ] || { echo "no Debian mirror configured" >&2; exit 3; }
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR sid main" > "$W"/apt/sources.list
: > "$W"/apt/status   # empty dpkg status: resolve everything, install nothing system-wide
O=(-o Dir::Etc::SourceList="$W"/apt/sources.list -o Dir::Etc::SourceParts=/dev/null
   -o Dir::State::Lists="$W"/apt/lists -o Dir::Cache="$W"/apt/cache -o Dir::State::status="$W"/apt/status
   -o APT::Install-Recommends=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
apt-get "${O[@]}" update -qq
apt-get "${O[@]}" install -qq --download-only -y golang-go golang-k8s-apiextensions-apiserver-dev >/dev/null
for f in "$W"/apt/cache/archives/golang-*.deb; do dpkg -x "$f" "$W"/root; done
GOROOT=$(ls -d "$W"/root/usr/lib/go-1.* | tail -1)
env -i PATH="$GOROOT/bin:/usr/bin:/bin" HOME="$W" GOROOT="$GOROOT" GOPATH="$W/root/usr/share/gocode" \
  GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0 GOCACHE="$W/gocache" \
  go build -trimpath -o "$BIN.tmp" k8s.io/apiextensions-apiserver
mv "$BIN.tmp" "$BIN"
echo "$BIN"
