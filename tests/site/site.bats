#!/usr/bin/env bats
# tests/site/site.bats: `make site` builds, no link in it is broken, and in
# headless Chromium 04's page shows the note about accept() level with the
# source's accept( line and its timeline loaded. Screenshots of 04's,
# 06's, 09's, 10's and 11's pages go to tests/site/screenshots/ (look at
# them).
bats_require_minimum_version 1.5.0

setup_file() {
    cd "$BATS_TEST_DIRNAME/../.." || return 1
    PYTHON=$(timelines/python) || return 1
    export PYTHON SITE="$BATS_FILE_TMPDIR/site"
    "$PYTHON" site/build.py "$SITE" >"$BATS_FILE_TMPDIR/build.log" 2>&1
}

setup() {
    cd "$BATS_TEST_DIRNAME/../.." || return 1
}

# chromium_run ARGS... URL: headless Chromium, a fresh profile, no network
# besides the page's own files, bounded in time.
chromium_run() {
    local profile
    profile=$(mktemp -d "$BATS_FILE_TMPDIR/profile.XXXXXX")
    timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" "$@" 2>/dev/null
}

@test "the site builds without a warning: every lab has a page, every notes marker finds its line" {
    run cat "$BATS_FILE_TMPDIR/build.log"
    [[ $output == "site: "*" lab pages in "* ]] || { echo "$output"; false; }
    [[ $output != *"site: marker"* && $output != *"link to nothing"* ]] || { echo "$output"; false; }
    for lab in labs/[0-9][0-9]-*/; do
        lab=$(basename "$lab")
        [[ -f $SITE/$lab.html ]] || { echo "no page for $lab"; false; }
        grep -q 'class="code"' "$SITE/$lab.html"
        grep -q "src=\"pictures/$lab.svg\"" "$SITE/$lab.html" || { echo "$lab's page has no timeline"; false; }
        # every source line is on the page once, in order
        count=$(wc -l < "$(ls labs/"$lab"/*.c)")
        [[ $(grep -o 'class="line" id="L[0-9]*"' "$SITE/$lab.html" | wc -l) == "$count" ]] ||
            { echo "$lab: not all $count source lines are on the page"; false; }
    done
}

@test "no link or picture in the whole site is broken, anchors included" {
    run "$PYTHON" tests/site/links.py "$SITE"
    echo "$output"
    [[ $status == 0 ]]
}

@test "headless Chromium: 04's note on accept() is level with the accept( line, and the picture is loaded" {
    sed 's#</body>#<script src="layout-check.js"></script></body>#' "$SITE/04-accept.html" >"$SITE/04-accept.check.html"
    cp tests/site/layout-check.js "$SITE/"
    run chromium_run --window-size=1400,1000 --virtual-time-budget=5000 --dump-dom "file://$SITE/04-accept.check.html"
    result=$(sed -n '/<pre id="layout-check">/,/<\/pre>/p' <<<"$output")
    echo "$result"
    [[ $result == *"heading=Step 5: accept()"* ]]
    [[ $result == *"same_row=true"* && $result == *"beside=true"* ]]
    # level: the line is at most three lines below the heading's top
    dy=$(sed -n 's/^dy=//p' <<<"$result") height=$(sed -n 's/^line_height=//p' <<<"$result")
    ((dy >= -height && dy <= 3 * height))
    [[ $result == *"picture=pictures/04-accept.svg"* && $result == *"picture_loaded=true"* ]]
    width=$(sed -n 's/^picture_width=\([0-9]*\).*/\1/p' <<<"$result")
    ((width > 300))
}

@test "headless Chromium: screenshots of 04's, 06's, 09's, 10's and 11's pages at their timeline, in tests/site/screenshots/" {
    mkdir -p tests/site/screenshots
    cp tests/site/shot.js "$SITE/"
    for lab in 04-accept 06-send-recv 09-nonblock 10-poll 11-unix; do
        rm -f "tests/site/screenshots/$lab.png"
        # (a #fragment URL gives a blank headless screenshot: shot.js hides
        # what comes before the timeline's row instead)
        sed 's#</body>#<script src="shot.js"></script></body>#' "$SITE/$lab.html" >"$SITE/$lab.shot.html"
        chromium_run --window-size=1400,1400 --virtual-time-budget=5000 \
            --screenshot="$PWD/tests/site/screenshots/$lab.png" "file://$SITE/$lab.shot.html"
        [[ -s tests/site/screenshots/$lab.png ]]
        # a real picture, not a blank page: PNG of the window's size, some kilobytes
        [[ $(head -c 8 "tests/site/screenshots/$lab.png" | od -An -c | tr -d ' ') == '211PNG\r\n032\n' ]]
        (($(stat -c %s "tests/site/screenshots/$lab.png") > 20000))
    done
}
