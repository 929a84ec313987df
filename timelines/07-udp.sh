# shellcheck shell=bash
# 07-udp: recvfrom() sleeps until a datagram comes, takes one whole datagram
# (cut to the 8-byte buffer), and sendto() answers without waiting for anybody.
lane udp labs/07-udp/udp -p 0 -b 8
port=$(port_of udp)
await udp '^recvfrom\(3, \.\.\.$'
printf 'one' >"$TIMELINE_DIR/one"
LANE_STDIN=$TIMELINE_DIR/one lane nc-1 nc -u -w 1 127.0.0.1 "$port"
await udp '^sendto\(3, "one"'
printf 'fourteen bytes' >"$TIMELINE_DIR/fourteen"
LANE_STDIN=$TIMELINE_DIR/fourteen lane nc-2 nc -u -w 1 127.0.0.1 "$port"
await udp '^sendto\(3, "fourteen"'
end_lane nc-1
end_lane nc-2
stop_lane udp INT
