#!/usr/bin/env bats
# tests/site/timelines.bats: every lab has its timeline, embedded in its notes;
# the committed pictures show what a fresh trace shows (the same lanes, the
# same calls in the same order; timings aside); and every "..." line of the
# narration has its bar, which ends where the result line is printed.
bats_require_minimum_version 1.5.0

setup_file() {
    cd "$BATS_TEST_DIRNAME/../.." || return 1
    PYTHON=$(timelines/python) || return 1
    export PYTHON FRESH="$BATS_FILE_TMPDIR/pictures" TRACES="$BATS_FILE_TMPDIR/traces"
    local lab
    for lab in labs/[0-9][0-9]-*/; do
        lab=$(basename "$lab")
        [[ -f timelines/$lab.sh ]] || continue
        timelines/run "$lab" "$FRESH" "$TRACES/$lab" || return 1
    done
}

setup() {
    cd "$BATS_TEST_DIRNAME/../.." || return 1
}

@test "every lab has a scenario, a committed picture, and its notes show the picture with a caption" {
    for lab in labs/[0-9][0-9]-*/; do
        lab=$(basename "$lab")
        [[ -f timelines/$lab.sh ]] || { echo "no timelines/$lab.sh"; false; }
        [[ -f docs/pictures/$lab.svg ]] || { echo "no docs/pictures/$lab.svg: make timeline LAB=$lab"; false; }
        grep -q "^!\[.*\](pictures/$lab.svg)$" "docs/$lab.md" || { echo "docs/$lab.md does not show it"; false; }
        grep -A2 "^!\[.*\](pictures/$lab.svg)$" "docs/$lab.md" | grep -q '^\*What to look at: ' ||
            { echo "docs/$lab.md: no caption under the picture"; false; }
    done
}

@test "the committed pictures match a fresh trace: the same lanes, the same calls in order" {
    for picture in "$FRESH"/*.svg; do
        lab=$(basename "$picture" .svg)
        diff -u <("$PYTHON" timelines/timeline.py structure "docs/pictures/$lab.svg") \
            <("$PYTHON" timelines/timeline.py structure "$picture") ||
            { echo "docs/pictures/$lab.svg is out of date: make timeline LAB=$lab"; false; }
    done
}

@test "each picture's lanes and labels are in the SVG: one lane per traced process, a labelled bar per call" {
    for picture in "$FRESH"/*.svg; do
        lab=$(basename "$picture" .svg)
        lanes=$(grep -o 'data-lane="[^"]*"' "$picture" | sort -u | wc -l)
        [[ $lanes == $(wc -l <"$TRACES/$lab/lanes") ]] || { echo "$lab: $lanes lanes"; false; }
        run "$PYTHON" -c 'import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
tree = ET.parse(sys.argv[1])
texts = {"".join(t.itertext()) for t in tree.iter(ns + "text")}
bars = [g.get("data-call") for g in tree.iter(ns + "g") if g.get("data-call")]
missing = [b for b in bars if b not in texts]
print(len(bars), "bars;", "missing labels:", missing)
sys.exit(1 if missing or not bars else 0)' "$picture"
        echo "$lab: $output"
        [[ $status == 0 ]]
    done
}

@test "every \"...\" line has a bar that starts after it and returns before its result line, labelled with it" {
    checked=0
    for picture in "$FRESH"/*.svg; do
        lab=$(basename "$picture" .svg)
        run "$PYTHON" timelines/timeline.py check-narration "$picture" "$TRACES/$lab"
        echo "$lab: $output"
        [[ $status == 0 ]]
        checked=$((checked + $(sed -n 's/^\([0-9]*\) "\.\.\." lines checked.*/\1/p' <<<"${lines[-1]}")))
    done
    ((checked >= 30))
}

@test "a blocking call seen asleep in the trace is drawn asleep: 04's accept() before each client" {
    # The two accept() calls wait for nc: they must be the hatched bars.
    run grep -c 'data-call="accept(3) = 4" [^>]*data-asleep="yes"' "$FRESH/04-accept.svg"
    grep -o '<g id="call-0-[0-9]*"[^>]*>' "$FRESH/04-accept.svg"
    [[ $output == 2 ]]
}

@test "unix sockets: 11-unix's calls are woken by the peer's event, the stream's ends matched by inode, a datagram's peer by its path" {
    # strace -yy names a unix socket by inode ([4242->4243,"lab.sock"]) and
    # a datagram's peer only by path (sun_path="me.sock"): the arrows must
    # join accept() to nc's connect, recv() to its bytes and its shutdown,
    # the first recvfrom() to the sender's datagram, and the sendto() that
    # slept on the sender's full queue to the sender's first read.
    read -r queue_length </proc/sys/net/unix/max_dgram_qlen
    last=d$((queue_length + 2))
    run "$PYTHON" -c 'import sys, xml.etree.ElementTree as ET
for g in ET.parse(sys.argv[1]).iter("{http://www.w3.org/2000/svg}g"):
    if g.get("data-woken"):
        print(g.get("data-lane"), g.get("data-call"), "<-", g.get("data-woken"),
              "(asleep)" if g.get("data-asleep") == "yes" else "")' "$FRESH/11-unix.svg"
    echo "$output"
    [[ $output == *'stream accept(3) = 4 <- connect (asleep)'* ]]
    [[ $output == *'stream recv(4, "hello\n", 2048, 0) = 6 <- data (asleep)'* ]]
    [[ $output == *'stream recv(4, "", 2048, 0) = 0 <- close (asleep)'* ]]
    [[ $output == *'dgram recvfrom(3, "d1", 2048, MSG_TRUNC, "me.sock") = 2 <- data (asleep)'* ]]
    [[ $output == *"dgram sendto(3, \"$last\", ${#last}, 0, \"me.sock\") = ${#last} <- read (asleep)"* ]]
}

# wakes SVG: each bar of the picture, a line per bar, in order:
#   LANE: LABEL [asleep|ran] <- KIND:LANE (what woke it, :found if it was there before)
wakes() {
    "$PYTHON" -c 'import sys, xml.etree.ElementTree as ET
for g in ET.parse(sys.argv[1]).iter("{http://www.w3.org/2000/svg}g"):
    if g.get("data-call") is not None:
        by = g.get("data-woken-by")
        print("%s: %s [%s]%s" % (g.get("data-lane"), g.get("data-call"),
              "asleep" if g.get("data-asleep") == "yes" else "ran", " <- " + by if by else ""))' "$1"
}

# consecutive TEXT PATTERN...: some consecutive lines of TEXT match the
# glob PATTERNs, one each (a [ in a pattern is written \[).
consecutive() {
    local text=$1 lines i k
    shift
    mapfile -t lines <<<"$text"
    for ((i = 0; i + $# <= ${#lines[@]}; i++)); do
        k=0
        for pattern in "$@"; do
            # shellcheck disable=SC2053 # a glob pattern, on purpose
            [[ ${lines[i + k]} == $pattern ]] || continue 2
            k=$((k + 1))
        done
        return 0
    done
    echo "no lines in a row match: $*" >&2
    return 1
}

# check_09_wakes WAKES: what 09's picture must show. accept() = EAGAIN ran
# (no sleep), then poll() asleep until nc's connect, then accept() at once;
# recv() = EAGAIN ran, poll() asleep until nc's bytes, then until its FIN;
# with -f, send() = EAGAIN ran, poll() for POLLOUT asleep until the reader
# read; and in the lab's lanes nothing but poll() asleep.
check_09_wakes() {
    consecutive "$1" 'echo: accept(3) = -1 EAGAIN \[ran\]' \
        'echo: poll(\[3 IN\]) = 1 (\[3 IN\]) \[asleep\] <- connect:nc' \
        'echo: accept(3) = 4 \[ran\]*' || return 1
    consecutive "$1" 'echo: recv(4, ..., 1024, 0) = -1 EAGAIN \[ran\]' \
        'echo: poll(\[4 IN\]) = 1 (\[4 IN\]) \[asleep\] <- data:nc' \
        'echo: recv(4, "hello\\n", 1024, 0) = 6 \[ran\]' || return 1
    consecutive "$1" 'echo: poll(\[4 IN\]) = 1 (\[4 IN\]) \[asleep\] <- close:nc' \
        'echo: recv(4, "", 1024, 0) = 0 \[ran\]' || return 1
    consecutive "$1" 'flood: accept(3) = -1 EAGAIN \[ran\]' \
        'flood: poll(\[3 IN\]) = 1 (\[3 IN\]) \[asleep\] <- connect:reader' || return 1
    consecutive "$1" 'flood: send(4, *) = -1 EAGAIN \[ran\]' \
        'flood: poll(\[4 OUT\]) = 1 (\[4 OUT\]) \[asleep\] <- read:reader' || return 1
    ! grep -E '^(echo|flood): ' <<<"$1" | grep -F '[asleep]' | grep -v '^[a-z]*: poll(' || return 1
}

# check_10_wakes WAKES: 10's head-of-line scene without the head-of-line.
# nc (fd 4) connected and silent; curl's connect wakes the poll() that
# watches fd 4 too; curl's request (fd 5) is found by the next poll() (or
# wakes it), read and answered, and fd 5 closed, all before nc's request
# wakes poll([4 IN]) (in one piece or two: nc may read what printf wrote
# in two); and the server sleeps in poll() only.
check_10_wakes() {
    consecutive "$1" 'server: accept(3) = 4 \[ran\] <- queued:nc:found' || return 1
    consecutive "$1" 'server: poll(\[3 IN, 4 IN\]) = 1 (\[3 IN\]) \[asleep\] <- connect:curl' \
        'server: accept(3) = 5 \[ran\] <- queued:curl:found' \
        'server: poll(\[4 IN, 5 IN\]) = 1 (\[5 IN\]) \[*\] <- data:curl*' \
        'server: recv(5, *) = 79 \[ran\]' \
        'server: poll(\[4 IN, 5 OUT\]) = 1 (\[5 OUT\]) \[ran\]' \
        'server: send(5, *) = 97 \[ran\]' \
        'server: close(5) = 0 \[ran\]' \
        'server: poll(\[4 IN\]) = 1 (\[4 IN\]) \[asleep\] <- data:nc' \
        'server: recv(4, *' || return 1
    ! grep '^server: ' <<<"$1" | grep -F '[asleep]' | grep -v '^server: poll(' || return 1
}

@test "poll(): 09's poll() woken by nc's connect, its bytes and its FIN, and with -f by the reader's read; accept, recv and send = EAGAIN never asleep" {
    run wakes "$FRESH/09-nonblock.svg"
    echo "$output"
    check_09_wakes "$output"
}

@test "poll(): 10's poll() woken by curl's connect, and curl's request read and answered while the silent nc is connected; the server asleep only in poll()" {
    run wakes "$FRESH/10-poll.svg"
    echo "$output"
    check_10_wakes "$output"
}

@test "the poll() checks can fail: drawn with its matching broken (the listener's peer, or a connection's ends swapped), 09's and 10's pictures fail them" {
    broken=$BATS_TEST_TMPDIR/timeline.py
    for how in listener ends; do
        case $how in
        listener) sed 's/addresses(d)\[1\] == text/addresses(d)[0] == text/' timelines/timeline.py >"$broken" ;;
        ends) sed 's/peers(l, r, /peers(r, l, /g' timelines/timeline.py >"$broken" ;;
        esac
        run ! cmp -s timelines/timeline.py "$broken"
        "$PYTHON" "$broken" draw "$TRACES/09-nonblock" "$BATS_TEST_TMPDIR/09.svg" \
            "$TRACES/10-poll" "$BATS_TEST_TMPDIR/10.svg"
        run wakes "$BATS_TEST_TMPDIR/09.svg"
        run ! check_09_wakes "$output"
        run wakes "$BATS_TEST_TMPDIR/10.svg"
        run ! check_10_wakes "$output"
    done
}

@test "the checks can fail: a bar moved off its narration line, or a call left out, is caught" {
    # The "..." check, on 04's picture with its first accept() bar moved
    # before the listen line (as a lab printing "accept(3) ..." late draws it).
    sed '0,/data-call="accept(3) = 4"/s/\(data-call="accept(3) = 4"[^>]*data-line="\)[0-9]*"/\10"/' \
        "$FRESH/04-accept.svg" >"$BATS_TEST_TMPDIR/moved.svg"
    run ! cmp -s "$FRESH/04-accept.svg" "$BATS_TEST_TMPDIR/moved.svg"
    run "$PYTHON" timelines/timeline.py check-narration "$BATS_TEST_TMPDIR/moved.svg" "$TRACES/04-accept"
    [[ $status == 1 && $output == *'line 6 "accept(3) ..."'* ]]
    # The structure, on the same picture without its server's write() bars.
    "$PYTHON" -c 'import sys, xml.etree.ElementTree as ET
tree = ET.parse(sys.argv[1])
for parent in tree.iter():
    for g in list(parent):
        if (g.get("data-call") or "").startswith("write(4"):
            parent.remove(g)
tree.write(sys.argv[2])' "$FRESH/04-accept.svg" "$BATS_TEST_TMPDIR/dropped.svg"
    run diff <("$PYTHON" timelines/timeline.py structure "$FRESH/04-accept.svg") \
        <("$PYTHON" timelines/timeline.py structure "$BATS_TEST_TMPDIR/dropped.svg")
    [[ $status == 1 ]]
}
