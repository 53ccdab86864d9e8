#!/usr/bin/env bash
# A real Docker engine for the registry tests (see DESIGN.md "Real components"):
# Debian's docker.io (dockerd 20.10) and debootstrap, installed when missing;
# dockerd started in the background when it does not answer; a local base
# image (agentgate-test/base:bookworm) built once with debootstrap, since no
# image registry is reachable from these machines. Idempotent and quiet.
# Must run as root. Logs: /tmp/install-docker-*.log, /var/log/agentgate-dockerd.log.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
log() { printf '[install-docker] %s\n' "$*"; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

BASE_IMAGE=agentgate-test/base:bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKERD_LOG=/var/log/agentgate-dockerd.log

missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
[ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  : >/tmp/install-docker-apt.log
  log "installing ${missing[*]}"
  apt_install() { as_root apt-get install -y -qq --no-install-recommends "$@" >>/tmp/install-docker-apt.log 2>&1; }
  if ! apt_install "${missing[@]}"; then
    as_root apt-get update -qq >>/tmp/install-docker-apt.log 2>&1
    apt_install "${missing[@]}" || {
      tail -n 30 /tmp/install-docker-apt.log >&2
      exit 1
    }
  fi
fi

# The client on PATH may be newer than the engine (a static /usr/local/bin/docker):
# it negotiates the API version down, so either client works.
DOCKER="$(command -v docker || echo /usr/bin/docker)"

# A pid file left by a dockerd or managed containerd that was killed (CI ends what a session left
# running) makes the next dockerd wait for a containerd that is gone: drop pid files whose process
# is not alive (absent, a zombie, or another program by now).
stale_pid_file() {
  local file="$1" comm="$2" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file" 2>/dev/null)"
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 0
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 0
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = "Z" ]
}

if ! "$DOCKER" info >/dev/null 2>&1; then
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    if stale_pid_file /var/run/docker/containerd/containerd.pid containerd; then as_root rm -f /var/run/docker/containerd/containerd.pid; fi
    if stale_pid_file /var/run/docker.pid dockerd; then as_root rm -f /var/run/docker.pid; fi
  fi
  log "starting dockerd"
  # No init system here: run it detached. 127.0.0.0/8 is an insecure registry by default,
  # so loopback registries need no TLS and no --insecure-registry flag.
  as_root setsid nohup /usr/sbin/dockerd --host unix:///var/run/docker.sock >>"$DOCKERD_LOG" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! "$DOCKER" info >/dev/null 2>&1; then
    log "dockerd did not come up; last lines of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2
    exit 1
  fi
fi

if ! "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "building $BASE_IMAGE with debootstrap (about a minute)"
  ROOTFS="$(mktemp -d /tmp/agentgate-base.XXXXXX)"
  trap 'rm -rf "$ROOTFS"' EXIT
  if ! as_root debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >/tmp/install-docker-debootstrap.log 2>&1; then
    tail -n 30 /tmp/install-docker-debootstrap.log >&2
    exit 1
  fi
  tar -C "$ROOTFS" -c . | "$DOCKER" import - "$BASE_IMAGE" >/dev/null
fi

log "ok"
