# The two commands a newcomer needs: `make dev` and `make test`. Everything else is a building block.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

SOLUTION := Majestix.sln
APPHOST := tools/Majestix.AppHost/Majestix.AppHost.csproj
DEV_STATE := .majestix/dev

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install what the build, the tests and the dev stack need (redis-server, infra's npm packages)
	@scripts/install-deps.sh

.PHONY: restore
restore: ## Restore NuGet packages exactly as pinned by the lock files
	dotnet restore $(SOLUTION) --locked-mode

.PHONY: build
build: restore ## Build everything (warnings are errors)
	dotnet build $(SOLUTION) --no-restore

.PHONY: format
format: ## Apply the .editorconfig formatting
	dotnet format $(SOLUTION)

.PHONY: lint
lint: restore ## Formatting and static checks that need no services
	dotnet format $(SOLUTION) --verify-no-changes --no-restore
	scripts/check-dockerfiles.sh

.PHONY: test
test: deps lint ## Every suite (.NET and infra); starts and stops what it needs
	scripts/run-tests.sh

.PHONY: dev
dev: deps ## The whole platform on this machine, in the foreground (Ctrl-C stops everything)
	scripts/dev.sh foreground

.PHONY: dev-up
dev-up: deps ## The same in the background; returns once every service is healthy
	scripts/dev.sh up

.PHONY: dev-down
dev-down: ## Stop what dev-up started
	scripts/dev.sh down

.PHONY: bench
bench: ## Gateway cost per request beside Portkey's; writes bench/results/latest.md (about 11 minutes)
	scripts/bench.sh

.PHONY: bench-counting
bench-counting: ## Token counting on adversarial inputs, before and after; writes bench/results/counting.md (under a minute)
	dotnet build bench/Majestix.Bench.Counting/Majestix.Bench.Counting.csproj -c Release -nologo -v quiet
	dotnet bench/Majestix.Bench.Counting/bin/Release/net10.0/Majestix.Bench.Counting.dll --repo "$(CURDIR)"

.PHONY: plan
plan: ## Render the Pulumi stack under mocks into infra/plan/prod.txt
	npm --prefix infra ci --no-audit --no-fund >/dev/null
	npm --prefix infra run plan
