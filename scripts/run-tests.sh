#!/usr/bin/env bash
# Runs every suite, then stops anything a crashed suite left behind, and prints one total line.
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=$(mktemp -d)
# Processes this run may start; anything matching that was not running before gets stopped at the end.
pattern='redis-server|cloud-firestore-emulator|CloudFirestore|cloud-pubsub-emulator|Majestix\.'
before=$(pgrep -f "$pattern" | sort || true)

cleanup() {
  local after leftovers
  after=$(pgrep -f "$pattern" | sort || true)
  leftovers=$(comm -13 <(echo "$before") <(echo "$after") | grep -v "^$$\$" || true)
  if [ -n "$leftovers" ]; then
    echo "stopping processes left behind by the tests: $(echo $leftovers)"
    kill $leftovers 2>/dev/null || true
    sleep 1
    kill -9 $leftovers 2>/dev/null || true
  fi
  rm -rf "$log_dir"
}
trap cleanup EXIT

start=$(date +%s)
status=0

echo "== .NET suites"
dotnet test Majestix.sln --no-restore --blame-hang-timeout 5m --logger "console;verbosity=minimal" 2>&1 | tee "$log_dir/dotnet.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== infra suites"
if [ -f infra/package.json ]; then
  npm --prefix infra test 2>&1 | tee "$log_dir/infra.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

# One total across runners: dotnet prints per-assembly counts, node's runner prints '# pass N'.
read -r passed failed skipped < <(
  {
    grep -hoE 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log_dir/dotnet.log" |
      awk -F'[:,] +' '{f+=$2; p+=$4; s+=$6} END {print p+0, f+0, s+0}'
    if [ -f "$log_dir/infra.log" ]; then
      awk '/^# pass /{p+=$3} /^# fail /{f+=$3} /^# skipped /{s+=$3} END {print p+0, f+0, s+0}' "$log_dir/infra.log"
    else
      echo 0 0 0
    fi
  } | awk '{p+=$1; f+=$2; s+=$3} END {print p, f, s}')

echo
echo "make test finished in $(( $(date +%s) - start )) s"
if [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  status=1
fi
echo "total: $passed passed, $failed failed, $skipped skipped"
# CI keeps only the tail of this output, so the failures are named again here, after the total.
if [ "$failed" -gt 0 ]; then
  echo "failed:"
  grep -hE '^ +Failed [A-Za-z_]' "$log_dir/dotnet.log" | sed 's/^ */  /' || true
  grep -hE '^ *not ok ' "$log_dir/infra.log" 2>/dev/null | sed 's/^/  infra: /' || true
fi
exit $status
