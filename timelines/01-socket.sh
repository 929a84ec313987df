# shellcheck shell=bash
# 01-socket: six socket() calls and a close, none of which waits for anything.
lane_run socket labs/01-socket/socket
