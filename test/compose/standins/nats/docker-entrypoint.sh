#!/bin/sh
# As the real nats image's entry point: arguments starting with a dash are nats-server flags.
set -e
if [ "${1#-}" != "$1" ]; then
  set -- nats-server "$@"
fi
exec "$@"
