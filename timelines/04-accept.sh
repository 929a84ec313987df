# shellcheck shell=bash
# 04-accept: the server sleeps in accept() until each nc's connect() is done.
lane accept labs/04-accept/accept -p 0 -n 2
port=$(port_of accept)
await accept '^accept\(3\) \.\.\.$'
lane_run nc-1 nc -d 127.0.0.1 "$port"
await accept '^accept\(3\) \.\.\.$'
lane_run nc-2 nc -d 127.0.0.1 "$port"
end_lane accept
