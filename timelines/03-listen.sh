# shellcheck shell=bash
# 03-listen: nothing accepts, yet two clients' connect() return at once;
# the third one's SYN is dropped (backlog 1 admits 2) and nc gives up after 1 s.
lane listen labs/03-listen/listen -b 1 -p 0
port=$(port_of listen)
await listen '^accept queue: 0 pending'
lane nc-1 nc -d 127.0.0.1 "$port"
await listen '^accept queue: 1 pending'
lane nc-2 nc -d 127.0.0.1 "$port"
await listen '^accept queue: 2 pending'
lane_run nc-3 nc -w 1 127.0.0.1 "$port" || true
stop_lane listen INT       # closing the listener resets the two queued clients
end_lane nc-1
end_lane nc-2
