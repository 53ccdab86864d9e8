#!/usr/bin/env bash
# Builds the test-only stand-ins for the images docker-compose.yml names, from the local
# debootstrap base (.ci/install-docker.sh): no image registry is reachable from the test
# machines. They are tagged agentgate-standin/* only — never with the real names — and the
# compose test points the compose file at them through NODE_IMAGE, NATS_IMAGE and
# OPENSEARCH_IMAGE (whose defaults are the real images). A stand-in whose inputs did not
# change (label agentgate.standin.hash) is not rebuilt.
# Prints the three image names as shell assignments on stdout; logs go to stderr.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BASE_IMAGE=agentgate-test/base:bookworm
TOOLS=agentgate-standin/tools:bookworm
NODE=agentgate-standin/node:20-bookworm-slim
NATS=agentgate-standin/nats:2.11-alpine
OPENSEARCH=agentgate-standin/opensearch:2.19.1
export DOCKER_BUILDKIT=0
log() { printf '[standins] %s\n' "$*" >&2; }

docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || { log "$BASE_IMAGE is missing: run bash .ci/install-docker.sh"; exit 1; }
base_id="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")"

current_hash() { docker image inspect -f '{{index .Config.Labels "agentgate.standin.hash"}}' "$1" 2>/dev/null || true; }

# build NAME HASH CONTEXT [build args…]: skipped when NAME already carries HASH.
build() {
  local name="$1" hash="$2" context="$3"
  shift 3
  if [ "$(current_hash "$name")" = "$hash" ]; then
    log "$name is up to date"
    return
  fi
  log "building $name"
  local t0=$SECONDS
  # The engine is 20.10 without the buildx plugin: the classic builder (its deprecation notice is dropped).
  docker build -q --label "agentgate.standin.hash=$hash" -t "$name" "$@" "$context" 2> >(grep -v -E 'DEPRECATED|BuildKit is currently|environment-variable|^$' >&2) >/dev/null
  log "built $name in $((SECONDS - t0)) s"
}

work="$(mktemp -d /tmp/agentgate-standins.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# tools: curl and wget on the base
h="$(cat "$HERE/standins/tools/Dockerfile" <(echo "$base_id") | sha256sum | cut -c1-16)"
build "$TOOLS" "$h" "$HERE/standins/tools" --build-arg "BASE_IMAGE=$BASE_IMAGE"
tools_id="$(docker image inspect -f '{{.Id}}' "$TOOLS")"

# node: the machine's Node.js and npm
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(cd "$(dirname "$node_bin")/../lib/node_modules/npm" 2>/dev/null && pwd || true)"
[ -n "$npm_dir" ] && [ -f "$npm_dir/bin/npm-cli.js" ] || npm_dir="$(npm root -g)/npm"
h="$(cat "$HERE"/standins/node/* <(echo "$base_id" "$("$node_bin" --version)" "$(node "$npm_dir/bin/npm-cli.js" --version)") | sha256sum | cut -c1-16)"
if [ "$(current_hash "$NODE")" != "$h" ]; then
  mkdir -p "$work/node"
  cp "$HERE"/standins/node/* "$work/node/"
  cp "$node_bin" "$work/node/node"
  cp -r "$npm_dir" "$work/node/npm"
  cp -L /etc/ssl/certs/ca-certificates.crt "$work/node/ca-certificates.crt"
fi
build "$NODE" "$h" "$work/node" --build-arg "BASE_IMAGE=$BASE_IMAGE"

# nats: the nats-server .ci/install-deps.sh built
nats_bin=/usr/local/bin/nats-server
[ -x "$nats_bin" ] || { log "$nats_bin is missing: run bash .ci/install-deps.sh"; exit 1; }
h="$(cat "$HERE"/standins/nats/* <(echo "$tools_id" "$("$nats_bin" --version)") | sha256sum | cut -c1-16)"
if [ "$(current_hash "$NATS")" != "$h" ]; then
  mkdir -p "$work/nats"
  cp "$HERE"/standins/nats/* "$work/nats/"
  cp "$nats_bin" "$work/nats/nats-server"
fi
build "$NATS" "$h" "$work/nats" --build-arg "TOOLS_IMAGE=$TOOLS"

# opensearch: the testkit's Maven-resolved node on the machine's Java 17
POM="$ROOT/packages/testkit/opensearch/pom.xml"
CACHE_DIR="${AGENTGATE_TESTKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentgate-testkit}"
CP_FILE="$CACHE_DIR/opensearch-$(sha256sum "$POM" | cut -c1-16).classpath"
[ -s "$CP_FILE" ] || { log "$CP_FILE is missing: run bash .ci/install-deps.sh (resolves the OpenSearch node with Maven)"; exit 1; }
java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
"$java_home/bin/java" -version 2>&1 | grep -q '"17' || { log "java at $java_home is not Java 17"; exit 1; }
h="$(cat "$HERE"/standins/opensearch/* "$CP_FILE" <(echo "$tools_id" "$java_home" "$("$java_home/bin/java" -version 2>&1)") | sha256sum | cut -c1-16)"
if [ "$(current_hash "$OPENSEARCH")" != "$h" ]; then
  mkdir -p "$work/opensearch/lib" "$work/opensearch/jre"
  cp "$HERE"/standins/opensearch/* "$work/opensearch/"
  tr ':' '\n' <"$CP_FILE" | while read -r jar; do [ -n "$jar" ] && cp "$jar" "$work/opensearch/lib/"; done
  # The runtime only (no jmods, headers, docs); links into /etc/java-17-openjdk are followed.
  (cd "$java_home" && tar -ch --exclude=lib/src.zip bin conf lib release) | tar -C "$work/opensearch/jre" -x
fi
build "$OPENSEARCH" "$h" "$work/opensearch" --build-arg "TOOLS_IMAGE=$TOOLS"

printf 'NODE_IMAGE=%s\nNATS_IMAGE=%s\nOPENSEARCH_IMAGE=%s\n' "$NODE" "$NATS" "$OPENSEARCH"
