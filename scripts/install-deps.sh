#!/usr/bin/env bash
# Installs what is missing and nothing else, so it is cheap to run before every target.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server (apt)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq redis-server >/dev/null
fi

# Fernet interop tests run Python's reference implementation.
if ! /usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1; then
  echo "installing python3-cryptography (apt)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-cryptography >/dev/null
fi

for emulator in /usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar \
                /usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator; do
  [ -e "$emulator" ] || { echo "missing $emulator: install the Google Cloud SDK emulators" >&2; exit 1; }
done
command -v java >/dev/null || { echo "java is required by the Google emulators" >&2; exit 1; }

# npm ci only when the lock file changed since the last install.
if [ -f infra/package-lock.json ]; then
  stamp=infra/node_modules/.majestix-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s infra/package-lock.json "$stamp"; then
    echo "installing infra's npm packages (npm ci)"
    npm --prefix infra ci --no-audit --no-fund >/dev/null
    cp infra/package-lock.json "$stamp"
  fi
fi
