#!/bin/bash
# Runs the OpenSearch node as the real image would from its environment (see the Dockerfile).
set -euo pipefail
home=/usr/share/opensearch
node="$home/runner/node_1"
mkdir -p "$node/config"
# The runner keeps node 1's data in <base>/node_1/data: that is the image's data volume.
[ -L "$node/data" ] || { rm -rf "$node/data"; ln -s "$home/data" "$node/data"; }
{
  echo 'network.host: 0.0.0.0'
  # Laptop disks are often >90% full; watermarks would make the indices read-only.
  echo 'cluster.routing.allocation.disk.threshold_enabled: false'
  # Settings as environment variables (lower-case names with a dot), as the real image reads them.
  env | grep -E '^[a-z0-9_]+(\.[a-z0-9_]+)+=' | while IFS='=' read -r key value; do
    printf '%s: "%s"\n' "$key" "${value//\"/\\\"}"
  done
} >"$node/config/opensearch.yml"
if [ "${DISABLE_SECURITY_PLUGIN:-}" != "true" ]; then
  echo "[stand-in] this node has no security plugin: plain HTTP without authentication" >&2
fi
cluster="$(env | sed -n 's/^cluster\.name=//p')"
# shellcheck disable=SC2086 # OPENSEARCH_JAVA_OPTS is a list of flags, as in the real image
exec java ${OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx1g} -XX:-HeapDumpOnOutOfMemoryError -Djava.io.tmpdir=/tmp \
  -cp "$home/lib/*" org.codelibs.opensearch.runner.OpenSearchRunner \
  -basePath "$home/runner" -numOfNode 1 -baseHttpPort 9199 -clusterName "${cluster:-docker-cluster}"
