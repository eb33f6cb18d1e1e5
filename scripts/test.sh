#!/usr/bin/env bash
# test.sh [BUILDDIR] - build certa with ASan/UBSan and run every Meson suite
# (unit, integration), then print one line "N passed, N failed[, N skipped]"
# computed from Meson's test log. Exits non-zero on any failure.
# Extra arguments for `meson test` may be given in MESON_TEST_ARGS.
set -uo pipefail
cd "$(dirname "$0")/.."

dir=${1:-build/test}
scripts/setup-build.sh "$dir" -Db_sanitize=address,undefined -Db_lundef=false -Dtests=true || exit 1
if ! ninja -C "$dir"; then
	echo "build failed: no tests were run" >&2
	exit 1
fi

log="$dir/meson-logs/testlog.json"
rm -f "$log"
# shellcheck disable=SC2086
meson test -C "$dir" --print-errorlogs ${MESON_TEST_ARGS:-}
rc=$?

if [ ! -f "$log" ]; then
	echo "meson test wrote no log ($log)" >&2
	exit 1
fi
/usr/bin/python3 - "$log" "$rc" <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, INTERRUPT
            failed += 1
summary = f"{passed} passed, {failed} failed"
if skipped:
    summary += f", {skipped} skipped"
print(summary)
sys.exit(1 if failed or int(sys.argv[2]) != 0 else 0)
PY
