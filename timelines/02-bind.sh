# shellcheck shell=bash
# 02-bind: bind() answers at once, yes or no; the lab then sleeps in pause().
lane bind labs/02-bind/bind -p 0
port=$(port_of bind)
await bind '^pause\(\) \.\.\.$'
lane_run bind-again labs/02-bind/bind -p "$port"      # EADDRINUSE, at once
lane_run nc nc -z 127.0.0.1 "$port"                   # bound, not listening: refused
stop_lane bind INT
