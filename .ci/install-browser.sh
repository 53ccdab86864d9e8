#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests (playwright-core
# drives /usr/bin/chromium; no browser is ever downloaded by npm). Idempotent:
# does nothing when /usr/bin/chromium exists. Must run as root (or with sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { printf '[install-browser] %s\n' "$*"; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ -x /usr/bin/chromium ]; then exit 0; fi

log "installing chromium"
: >/tmp/install-browser-apt.log
install_chromium() {
  as_root apt-get install -y -qq --no-install-recommends chromium >>/tmp/install-browser-apt.log 2>&1
}
# The existing package lists first; update them (once) only when that fails (a fresh machine has none).
if ! install_chromium; then
  as_root apt-get update -qq >>/tmp/install-browser-apt.log 2>&1
  install_chromium || {
    tail -n 30 /tmp/install-browser-apt.log >&2
    exit 1
  }
fi
[ -x /usr/bin/chromium ] || { log "chromium installed but /usr/bin/chromium is missing"; exit 1; }
log "ok: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
