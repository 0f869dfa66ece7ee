#!/usr/bin/env bash
# Start the pinned Portkey AI gateway (@portkey-ai/gateway 1.15.2, @hono/node-server overridden to 1.13.8)
# in the foreground on PORT. `exec`s node, so the caller's PID is the gateway's PID.
#   usage: bench/portkey/start.sh PORT | --install-only
# Readiness: GET http://127.0.0.1:PORT/ answers "AI Gateway says hey!" (it listens on all interfaces).
# Route a request to an OpenAI-compatible upstream with the headers
#   x-portkey-provider: openai
#   x-portkey-custom-host: http://127.0.0.1:18090/v1
#   Authorization: Bearer anything
set -euo pipefail

port="${1:?usage: start.sh PORT | --install-only}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# Reinstall only when node_modules is missing or was installed from a different lock / package.json
# (the @hono/node-server override lives in package.json).
want="$(cat package-lock.json package.json | sha256sum | cut -d' ' -f1)"
stamp="node_modules/.majestix-install-sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "start.sh: npm ci (node_modules missing or stale)" >&2
  npm ci --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi

[ "$port" = "--install-only" ] && exit 0

# --headless: no web UI (/public) and no /log/stream endpoint; nothing else changes.
# The gateway reads its port only from --port=N (the PORT env var is ignored for listening).
exec node node_modules/@portkey-ai/gateway/build/start-server.js --port="$port" --headless
