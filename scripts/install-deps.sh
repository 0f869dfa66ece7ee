#!/usr/bin/env bash
# Installs what is missing and nothing else, so it is cheap to run before every target.
#   scripts/install-deps.sh          what the build, the tests and the dev stack need
#   scripts/install-deps.sh --bench  that, plus wrk and the Portkey gateway for `make bench`
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() { # package, then the check that tells it is already there
  local package="$1"; shift
  if ! "$@" >/dev/null 2>&1; then
    echo "installing $package (apt)"
    local sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$package" >/dev/null
  fi
}

apt_install redis-server command -v redis-server
# The README's billing walk-through reads JSON answers with it.
apt_install jq command -v jq
# Fernet interop tests run Python's reference implementation.
apt_install python3-cryptography /usr/bin/python3 -c 'import cryptography'

for emulator in /usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar \
                /usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator; do
  [ -e "$emulator" ] || { echo "missing $emulator: install the Google Cloud SDK emulators" >&2; exit 1; }
done
command -v java >/dev/null || { echo "java is required by the Google emulators" >&2; exit 1; }

npm_ci() { # directory: npm ci only when its lock file changed since the last install
  local dir="$1" stamp="$1/node_modules/.majestix-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "installing $dir's npm packages (npm ci)"
    npm --prefix "$dir" ci --no-audit --no-fund >/dev/null
    cp "$dir/package-lock.json" "$stamp"
  fi
}

npm_ci infra

if [ "${1:-}" = "--bench" ]; then
  apt_install wrk command -v wrk
  command -v taskset >/dev/null || apt_install util-linux command -v taskset
  # bench/portkey/start.sh re-checks its own stamp; installing here keeps npm out of the timed runs.
  bench/portkey/start.sh --install-only
fi
