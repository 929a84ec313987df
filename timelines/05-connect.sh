# shellcheck shell=bash
# 05-connect: connect() returns when the handshake is done, before accept();
# against 03, which never accepts, it returns all the same, and recv() waits.
lane accept labs/04-accept/accept -p 0 -n 1
port=$(port_of accept)
await accept '^accept\(3\) \.\.\.$'
lane_run connect labs/05-connect/connect -p "$port"
end_lane accept
lane listen labs/03-listen/listen -p 0
port=$(port_of listen)
await listen '^accept queue: 0 pending'
lane connect-2 labs/05-connect/connect -p "$port"
await connect-2 '^recv\(3, \.\.\.$'
await listen '^accept queue: 1 pending'
stop_lane connect-2 INT
stop_lane listen INT
