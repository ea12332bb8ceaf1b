#!/bin/sh
# Installs the Debian packages ddprof-perf needs to build, test and benchmark,
# and only those missing, so a fresh Debian 12 machine needs no manual step.
set -eu

PKGS="build-essential pkg-config libelf-dev libdw-dev libunwind-dev liblz4-dev
libcurl4-openssl-dev libnanopb-dev nanopb protobuf-compiler libcmocka-dev
zlib1g-dev libdeflate-dev libiberty-dev golang-go lz4 python3 linux-perf clang
libclang-rt-14-dev mandoc valgrind curl g++ file binutils openssl time"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi

echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
	apt-get install -y --no-install-recommends $missing
