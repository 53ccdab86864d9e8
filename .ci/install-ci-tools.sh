#!/usr/bin/env bash
# Installs the clients and linters of the CI-integration tests (test/e2e/ci-*.test.ts and
# services/proxy/test/forge-github.test.ts): Debian's gh, actionlint built from the Go module proxy, and
# check-jsonschema (PyPI; it ships the SchemaStore schemas of GitHub workflows and actions and of
# .gitlab-ci.yml) in a virtualenv of its own. Idempotent: installs only what is missing. Must run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { printf '[install-ci-tools] %s\n' "$*"; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/bin/gh ]; then
  log "installing gh"
  : >/tmp/install-ci-tools-apt.log
  if ! as_root apt-get install -y -qq --no-install-recommends gh >>/tmp/install-ci-tools-apt.log 2>&1; then
    as_root apt-get update -qq >>/tmp/install-ci-tools-apt.log 2>&1
    as_root apt-get install -y -qq --no-install-recommends gh >>/tmp/install-ci-tools-apt.log 2>&1 || {
      tail -n 30 /tmp/install-ci-tools-apt.log >&2
      exit 1
    }
  fi
fi

ACTIONLINT_VERSION=v1.7.7
if ! /usr/local/bin/actionlint -version 2>/dev/null | grep -q "^${ACTIONLINT_VERSION}$"; then
  command -v go >/dev/null 2>&1 || { log "go not found: cannot build actionlint (apt-get install -y golang-go)"; exit 1; }
  log "building actionlint $ACTIONLINT_VERSION with go install"
  GOBIN_AL="$(mktemp -d)"
  if ! GOBIN="$GOBIN_AL" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >/tmp/install-ci-tools-go.log 2>&1; then
    tail -n 30 /tmp/install-ci-tools-go.log >&2
    exit 1
  fi
  as_root install -m 0755 "$GOBIN_AL/actionlint" /usr/local/bin/actionlint
  rm -rf "$GOBIN_AL"
fi

CHECK_JSONSCHEMA_VERSION=0.39.0
VENV=/opt/agentgate-ci-tools
if ! "$VENV/bin/check-jsonschema" --version 2>/dev/null | grep -q "$CHECK_JSONSCHEMA_VERSION"; then
  command -v python3 >/dev/null 2>&1 || { log "python3 not found: cannot install check-jsonschema"; exit 1; }
  log "installing check-jsonschema $CHECK_JSONSCHEMA_VERSION"
  as_root python3 -m venv "$VENV"
  if ! as_root "$VENV/bin/pip" install -q --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" >/tmp/install-ci-tools-pip.log 2>&1; then
    tail -n 30 /tmp/install-ci-tools-pip.log >&2
    exit 1
  fi
fi
as_root ln -sf "$VENV/bin/check-jsonschema" /usr/local/bin/check-jsonschema
log "ok"
