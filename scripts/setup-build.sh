#!/usr/bin/env bash
# setup-build.sh DIR [meson options...] - configure a Meson build folder once.
# Re-runs `meson setup` only when DIR has never been configured or the options
# differ from the last run (kept in DIR/.certa-setup), so repeated make runs
# cost nothing; Meson itself reconfigures when a meson.build changes.
set -euo pipefail

dir=$1
shift
want="$*"
stamp="$dir/.certa-setup"

if [ -f "$dir/build.ninja" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
if [ -d "$dir/meson-private" ]; then
	meson setup --reconfigure "$dir" "$@" >/dev/null || meson setup --wipe "$dir" "$@"
else
	meson setup "$dir" "$@"
fi
printf '%s' "$want" >"$stamp"
