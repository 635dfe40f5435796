#!/usr/bin/env bash
# Install what a fresh Debian 12 machine lacks to build and test memberlog.
# Idempotent and quiet when everything is already there; uses sudo when not root.
set -euo pipefail

packages=(
	build-essential pkg-config meson ninja-build
	libsodium-dev libsqlite3-dev libuv1-dev libcbor-dev libcmocka-dev libjansson-dev libutf8proc-dev
	clang libclang-rt-14-dev clang-format
	libzip-dev libexpat1-dev libxlsxwriter-dev libcsv-dev
	libmdnsd-dev
	iproute2 procps python3
	gettext locales
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
# The Vietnamese locale, so that LANG=vi_VN.UTF-8 selects memberlog's Vietnamese
# messages (po/vi.po): without it setlocale() fails, the C locale stays, and gettext
# answers in English. Enabled in /etc/locale.gen so that later locale-gen runs keep it.
has_vi_locale() { locale -a 2>/dev/null | grep -ix 'vi_VN\.utf-\?8' >/dev/null; }
need_locale=false
has_vi_locale || need_locale=true

[ ${#missing[@]} -eq 0 ] && ! $need_locale && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		want=("${missing[@]}")
		$need_locale && want+=("the vi_VN.UTF-8 locale")
		echo "install-deps: need root or sudo to install: ${want[*]}" >&2
		exit 1
	}
	sudo="sudo"
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if $need_locale && ! has_vi_locale; then
	echo "install-deps: generating the vi_VN.UTF-8 locale" >&2
	if ! grep -q '^[[:space:]]*vi_VN\.UTF-8[[:space:]]\+UTF-8' /etc/locale.gen 2>/dev/null; then
		if grep -q '^#[[:space:]]*vi_VN\.UTF-8[[:space:]]\+UTF-8' /etc/locale.gen 2>/dev/null; then
			$sudo sed -i 's/^#[[:space:]]*\(vi_VN\.UTF-8[[:space:]]\+UTF-8\)/\1/' /etc/locale.gen
		else
			echo 'vi_VN.UTF-8 UTF-8' | $sudo tee -a /etc/locale.gen >/dev/null
		fi
	fi
	$sudo locale-gen --keep-existing >/dev/null
	has_vi_locale ||
		echo "install-deps: warning: vi_VN.UTF-8 was not generated; LANGUAGE=vi LANG=C.UTF-8 still selects Vietnamese" >&2
fi
