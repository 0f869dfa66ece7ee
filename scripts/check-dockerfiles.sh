#!/usr/bin/env bash
# No Docker engine here, so the Dockerfiles are checked statically: the properties Cloud Run and the
# deploy workflow rely on, and every COPY source existing in the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
for dockerfile in app/Dockerfile executor/Dockerfile web-functions/Dockerfile; do
  problem() { echo "$dockerfile: $*" >&2; fail=1; }
  [ -f "$dockerfile" ] || { problem "missing"; continue; }
  grep -qE '^FROM --platform=linux/amd64 mcr.microsoft.com/dotnet/sdk:10\.0.* AS build' "$dockerfile" || problem "build stage must be the .NET 10 SDK for linux/amd64"
  grep -qE '^FROM --platform=linux/amd64 mcr.microsoft.com/dotnet/aspnet:10\.0' "$dockerfile" || problem "runtime stage must be the ASP.NET 10 runtime for linux/amd64"
  grep -qE -- '--locked-mode' "$dockerfile" || problem "restore must be locked (--locked-mode)"
  grep -qE '^USER \$APP_UID' "$dockerfile" || problem "must run as the non-root app user"
  grep -qE '^HEALTHCHECK|^EXPOSE 8080' "$dockerfile" || problem "must expose 8080 (Cloud Run's PORT)"
  while read -r source; do
    for path in $source; do
      ls -d $path >/dev/null 2>&1 || problem "COPY source $path does not exist"
    done
  done < <(grep -E '^COPY ' "$dockerfile" | grep -v -- '--from=' | sed -E 's/^COPY +//; s/ +[^ ]+$//')
done
[ -f .dockerignore ] || { echo ".dockerignore missing" >&2; fail=1; }
exit $fail
