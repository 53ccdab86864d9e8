#!/usr/bin/env bash
# Builds a real kube-apiserver + kubectl (Kubernetes v1.37.2) and etcd (v3.7.3)
# from the Go module proxy, for the kubernetes adapter's tests (see
# packages/testkit/src/kube.ts and /work/shared/kubernetes-apiserver.md).
#
# Idempotent and quiet: the binaries are cached under
#   ${AGENTGATE_KUBE_DIR:-/opt/agentgate-kube}/<k8s version>/{kube-apiserver,kubectl,etcd}
# and each one is built only when it is absent. A cold build costs ~13 minutes of
# CPU on 2 cores (kube-apiserver); a warm Go build cache makes it ~11 s.
# The Go module sources and build cache stay in the machine's Go caches; nothing
# is written into the repository. On failure the tail of the log in /tmp is printed.
set -euo pipefail

KUBE_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.3
BASE="${AGENTGATE_KUBE_DIR:-/opt/agentgate-kube}"
DEST="$BASE/$KUBE_VERSION"
export GOTOOLCHAIN=local
export GOFLAGS=-mod=mod

log() { printf '[install-kube] %s\n' "$*"; }

have() { [ -x "$DEST/$1" ]; }
if have kube-apiserver && have kubectl && have etcd; then exit 0; fi

command -v go >/dev/null 2>&1 || { log "go not found: cannot build Kubernetes (apt-get install -y golang-go)"; exit 1; }
mkdir -p "$DEST"

LOG=/tmp/install-kube.log
: >"$LOG"
fail() {
  log "$1 failed; last lines of $LOG:"
  tail -n 40 "$LOG" >&2
  exit 1
}

WORK="$(mktemp -d /tmp/agentgate-kube-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# --- kube-apiserver and kubectl: one module requiring k8s.io/kubernetes, with
# every staging module replaced by its published release (the list is the
# ./staging replace block of k8s.io/kubernetes' own go.mod).
if ! have kube-apiserver || ! have kubectl; then
  STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
    cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt
    kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
    mount-utils pod-security-admission sample-apiserver streaming)
  mkdir -p "$WORK/kube"
  {
    echo "module agentgate.local/kubebuild"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in "${STAGING[@]}"; do echo "	k8s.io/$m => k8s.io/$m $STAGING_VERSION"; done
    echo ")"
  } >"$WORK/kube/go.mod"
  cat >"$WORK/kube/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  MINOR="${KUBE_VERSION#v1.}"; MINOR="${MINOR%%.*}"
  LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR"
  (
    cd "$WORK/kube"
    log "resolving k8s.io/kubernetes $KUBE_VERSION modules" >>"$LOG"
    go mod tidy >>"$LOG" 2>&1 || exit 11
    for cmd in kube-apiserver kubectl; do
      if [ ! -x "$DEST/$cmd" ]; then
        log "building $cmd $KUBE_VERSION" >>"$LOG"
        go build -trimpath -ldflags "$LDFLAGS" -o "$WORK/$cmd" "k8s.io/kubernetes/cmd/$cmd" >>"$LOG" 2>&1 || exit 12
        install -m 0755 "$WORK/$cmd" "$DEST/$cmd"
      fi
    done
  ) || fail "building kube-apiserver/kubectl $KUBE_VERSION"
fi

# --- etcd: a separate module (etcd's server module has replace directives, so
# `go install` refuses it; and the Kubernetes module pins an older etcd client).
if ! have etcd; then
  mkdir -p "$WORK/etcd"
  cat >"$WORK/etcd/go.mod" <<EOF
module agentgate.local/etcdbuild

go 1.26

require (
	go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
)
EOF
  cat >"$WORK/etcd/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  (
    cd "$WORK/etcd"
    log "building etcd $ETCD_VERSION" >>"$LOG"
    go mod tidy >>"$LOG" 2>&1 || exit 21
    go build -trimpath -ldflags "-s -w" -o "$WORK/etcd-bin" . >>"$LOG" 2>&1 || exit 22
    install -m 0755 "$WORK/etcd-bin" "$DEST/etcd"
  ) || fail "building etcd $ETCD_VERSION"
fi

log "kube-apiserver, kubectl $KUBE_VERSION and etcd $ETCD_VERSION in $DEST"
