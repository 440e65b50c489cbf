#!/bin/sh
set -eu
if [ "${1:-}" = redis-server ]; then
    case " $* " in
        *" --protected-mode "*) ;;
        *) set -- "$@" --protected-mode no ;;
    esac
    # Like the official image: run as the redis user, with /data its own.
    if [ "$(id -u)" = 0 ]; then
        chown -R redis:redis /data
        exec setpriv --reuid=redis --regid=redis --init-groups -- "$@"
    fi
fi
exec "$@"
