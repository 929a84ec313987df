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
