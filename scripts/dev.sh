#!/usr/bin/env bash
# The dev stack: `foreground` (make dev), `up` (make dev-up), `down` (make dev-down).
set -euo pipefail
cd "$(dirname "$0")/.."

state=.majestix/dev
pid_file=$state/apphost.pid
log_file=$state/apphost.log
apphost=tools/Majestix.AppHost/Majestix.AppHost.csproj
health_budget=${DEV_HEALTH_BUDGET_SECONDS:-90}
services=(
  "inference-api|http://127.0.0.1:8080/health"
  "agent-executor|http://127.0.0.1:8081/health"
  "web-functions|http://127.0.0.1:8082/health"
  "mock-upstream|http://127.0.0.1:8090/health"
  "dev-identity|http://127.0.0.1:8089/health"
  "stripe-stand-in|http://127.0.0.1:4242/health"
  "firestore|http://127.0.0.1:8686/"
  "pubsub|http://127.0.0.1:8685/"
)
dev_ports=(8080 8081 8082 8089 8090 4242 8685 8686 6390 18888 18889)

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

listeners() {
  # pids listening on any dev port (ss ships with iproute2 on Debian).
  local port pids=""
  for port in "${dev_ports[@]}"; do
    pids+=" $(ss -Hltnp "sport = :$port" 2>/dev/null | grep -oE 'pid=[0-9]+' | cut -d= -f2 | tr '\n' ' ')"
  done
  echo $pids | tr ' ' '\n' | sort -u | grep -v '^$' || true
}

start() {
  if running; then
    echo "the dev stack is already running (pid $(cat "$pid_file")); make dev-down first" >&2
    exit 1
  fi
  local busy
  busy=$(listeners)
  if [ -n "$busy" ]; then
    echo "dev ports are in use by pid(s) $(echo $busy); stop them first (make dev-down)" >&2
    exit 1
  fi
  mkdir -p "$state"
  echo "building…"
  dotnet build "$apphost" -v quiet -nologo -clp:ErrorsOnly
  rm -f "$state/env"
  started=$(date +%s)
  # Own session, so dev-down can stop the whole tree even if the AppHost dies first.
  ASPIRE_ALLOW_UNSECURED_TRANSPORT=true ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true \
    setsid dotnet run --project "$apphost" --no-build --launch-profile http >"$log_file" 2>&1 < /dev/null &
  echo $! >"$pid_file"
  wait_healthy
}

wait_healthy() {
  local deadline=$(( started + health_budget )) entry name url pending
  while :; do
    pending=()
    for entry in "${services[@]}"; do
      name=${entry%%|*}; url=${entry#*|}
      curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null || pending+=("$name")
    done
    [ -f "$state/env" ] || pending+=("env file")
    [ ${#pending[@]} -eq 0 ] && break
    if ! running; then
      echo "the AppHost exited; last lines of $log_file:" >&2
      tail -30 "$log_file" >&2
      exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "not healthy after ${health_budget}s: ${pending[*]} (log: $log_file)" >&2
      stop
      exit 1
    fi
    sleep 1
  done
  cat <<TXT

Majestix dev stack healthy in $(( $(date +%s) - started ))s
  inference-api      http://127.0.0.1:8080
  agent-executor     http://127.0.0.1:8081
  web-functions      http://127.0.0.1:8082
  mock upstream      http://127.0.0.1:8090
  dev identity       http://127.0.0.1:8089   (POST /tokens/firebase|appcheck|oidc)
  Stripe stand-in    http://127.0.0.1:4242   (hosted checkout and portal pages; tools/Majestix.StripeStandIn/README.md)
  Redis              127.0.0.1:6390
  Firestore emulator 127.0.0.1:8686
  Pub/Sub emulator   127.0.0.1:8685          (topics usage-events, audit-events)
  Aspire dashboard   http://127.0.0.1:18888  (logs, traces)
  credentials        source $state/env       (PRO_API_KEY, PRO_ID_TOKEN, FREE_API_KEY, ADMIN_ID_TOKEN, …)
  AppHost log        $log_file
TXT
}

stop() {
  if ! [ -f "$pid_file" ]; then
    echo "nothing to stop (no $pid_file)"
  else
    local pid
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
      # SIGTERM: Aspire stops every resource it started; SIGINT is ignored by background jobs.
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    # The AppHost ran in its own session: DCP and anything it started shares the session id.
    for _ in $(seq 1 15); do pgrep -s "$pid" >/dev/null || break; sleep 1; done
    pkill -KILL -s "$pid" 2>/dev/null || true
    rm -f "$pid_file"
  fi
  # Anything still holding a dev port was started by this stack: stop it too.
  local left
  left=$(listeners)
  if [ -n "$left" ]; then
    kill -TERM $left 2>/dev/null || true
    sleep 2
    left=$(listeners)
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
  fi
  echo "dev stack stopped"
}

case "${1:-}" in
  up) start ;;
  down) stop ;;
  foreground)
    trap 'echo; stop; exit 0' INT TERM
    start
    echo "Ctrl-C stops everything."
    while running; do sleep 1; done
    echo "the AppHost exited; see $log_file" >&2
    exit 1
    ;;
  *) echo "usage: $0 up|down|foreground" >&2; exit 2 ;;
esac
