#!/usr/bin/env bash
# fuzz.sh - build every libFuzzer target with clang (-Dfuzz=true) and run each
# fuzz/fuzz_<name>.c for FUZZ_SECONDS (default 60) from fuzz/corpus/<name>/.
# New inputs go to a scratch folder, never into the checked-in corpus; crash
# reproducers land in fuzz/artifacts/. Exits non-zero if any target failed.
#   scripts/fuzz.sh [NAME...]   only the named targets (e.g. pdu ntlmssp)
# Environment: FUZZ_SECONDS (per target), FUZZ_BUILD_DIR (default build/fuzz).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
dir=${FUZZ_BUILD_DIR:-build/fuzz}

scripts/deps.sh fuzz || exit 1
if [ ! -f fuzz/meson.build ]; then
	echo "fuzz.sh: no fuzz/meson.build yet: nothing to fuzz"
	exit 0
fi
CC=clang scripts/setup-build.sh "$dir" -Dfuzz=true -Dtests=false \
	-Db_sanitize=address,undefined -Db_lundef=false || exit 1
ninja -C "$dir" || exit 1

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for src in fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		n=${src#fuzz/fuzz_}
		targets+=("${n%.c}")
	done
fi

mkdir -p fuzz/artifacts
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
ok=0
bad=()
for n in "${targets[@]}"; do
	exe="$dir/fuzz/fuzz_$n"
	if [ ! -x "$exe" ]; then
		echo "fuzz.sh: $exe was not built (is fuzz_$n registered in fuzz/meson.build?)" >&2
		bad+=("$n")
		continue
	fi
	mkdir -p "$scratch/$n"
	corpus=()
	[ -d "fuzz/corpus/$n" ] && corpus=("fuzz/corpus/$n")
	echo "== fuzz_$n: ${seconds}s"
	if "$exe" -max_total_time="$seconds" -artifact_prefix="fuzz/artifacts/${n}-" \
		-print_final_stats=1 "$scratch/$n" "${corpus[@]}" >"$scratch/$n.log" 2>&1; then
		ok=$((ok + 1))
		grep -E '^(stat::number_of_executed_units|Done )' "$scratch/$n.log" || true
	else
		bad+=("$n")
		tail -n 40 "$scratch/$n.log"
	fi
done

echo "$ok passed, ${#bad[@]} failed"
if [ ${#bad[@]} -gt 0 ]; then
	echo "failed: ${bad[*]} (reproducers in fuzz/artifacts/)" >&2
	exit 1
fi
