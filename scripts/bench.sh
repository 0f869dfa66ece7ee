#!/usr/bin/env bash
# make bench: builds Release, then bench/Majestix.Bench starts Redis, the emulators, the mock upstream,
# inference-api and the Portkey gateway, measures, stops everything, and writes bench/results/latest.md.
# Extra arguments go to the benchmark (bench/README.md lists them), e.g. scripts/bench.sh --duration 20
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --bench
dotnet build bench/Majestix.Bench/Majestix.Bench.csproj -c Release -nologo -v quiet
exec dotnet bench/Majestix.Bench/bin/Release/net10.0/Majestix.Bench.dll --repo "$PWD" "$@"
