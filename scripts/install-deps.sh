#!/usr/bin/env bash
# Install what a fresh Debian 12 machine lacks to build and test memberlog.
# Idempotent and quiet when everything is already there; uses sudo when not root.
set -euo pipefail

packages=(
	build-essential pkg-config meson ninja-build
	libsodium-dev libsqlite3-dev libuv1-dev libcbor-dev libcmocka-dev libjansson-dev libutf8proc-dev
	clang libclang-rt-14-dev clang-format
	iproute2 procps
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
