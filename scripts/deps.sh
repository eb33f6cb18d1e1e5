#!/usr/bin/env bash
# deps.sh - install the Debian 12 packages certa needs, and only those missing.
#   scripts/deps.sh run    build and run certad (compiler, meson, libraries)
#   scripts/deps.sh test   + cmocka, impacket, tshark, clang, KDC, Samba AD DC and NTLM tools
#   scripts/deps.sh fuzz   + clang and its libFuzzer runtime
# Checks dpkg-query first so a second run costs nothing and needs no network;
# runs `apt-get update` only when something must be installed.
set -euo pipefail

mode=${1:-run}

run_pkgs=(make meson ninja-build gcc pkg-config python3
	libssl-dev libsqlite3-dev libkrb5-dev libldap2-dev libpq-dev openssl libwbclient-dev)
fuzz_pkgs=(clang libclang-rt-14-dev)
test_pkgs=(libcmocka-dev python3-impacket tshark
	krb5-kdc krb5-admin-server krb5-user gss-ntlmssp
	samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules
	winbind ldb-tools ldap-utils smbclient libnss-wrapper libsasl2-modules-gssapi-mit
	"${fuzz_pkgs[@]}")

case "$mode" in
run) want=("${run_pkgs[@]}") ;;
test) want=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
fuzz) want=("${run_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
*)
	echo "usage: $0 [run|test|fuzz]" >&2
	exit 64
	;;
esac

missing=()
for p in "${want[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "deps.sh: missing packages (${missing[*]}) and not root; install them as root:" >&2
		echo "  apt-get install ${missing[*]}" >&2
		exit 77
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# Package services (krb5-kdc, krb5-admin-server) must not start: tests run
# their own KDCs in temporary folders. A policy-rc.d refusing every start is
# Debian's documented way (invoke-rc.d(8)); remove it again afterwards.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod 755 "$policy"
	made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

"${sudo[@]}" apt-get update -q </dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
