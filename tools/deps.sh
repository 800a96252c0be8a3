#!/bin/sh
# Install every Debian package hamn needs to build, run and test. This is the
# one list; it is idempotent and quick when everything is present.
# deps.sh PACKAGE...: the same for those packages instead (bench/install-peers.sh).
set -eu

PACKAGES="
meson ninja-build pkg-config gcc clang-format
libjansson-dev libyaml-dev libarchive-dev libcurl4-openssl-dev libssl-dev
libsqlite3-dev libmicrohttpd-dev libseccomp-dev libnl-route-3-dev libnftables-dev
libcmocka-dev libgnutls28-dev libzstd-dev liblz4-dev
bats busybox-static jq curl python3 python3-docker util-linux iproute2 nftables hyperfine
crun runc docker-compose
docker-registry skopeo apache2-utils openssl
"
[ $# -eq 0 ] || PACKAGES="$*"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: must run as root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
