# shellcheck shell=bash
# tests/tap-until-failure.bash - run one .bats file and stop it at its first
# failing test. bats 1.8.2 has no --abort: this reads its TAP stream and
# ends the run itself. Sourced by tests/check-tests (mutants, solutions) and
# tests/check (a student's check).
#
#   tap_until_failure TAP MODE LABS_DIR BATS_FILE [BATS_OPTION...]
#
# Runs BATS_FILE (with BATS_OPTIONs, e.g. -f REGEX) against the labs in LABS_DIR; appends the TAP stream to the
# file TAP as it comes, and prints the name of each failing test. MODE
# "first": stop at the first failure (once bats has written what it says
# about it: a SIGINT while it writes that would change it, so the stop waits
# for a line that is not a "#" comment, or for 1 s of quiet; bats, in a
# process group of its own, gets SIGINT as from Ctrl-C: it ends the test
# under way, runs its teardown and starts no other); "all": run every test. With TAP_LINE_HOOK set to a
# function's name, that function is called with each TAP line as it comes.
# Bounded: after TAP_LIMIT seconds (default 300) the group is killed and,
# unless a failure had stopped the run by then, the file TAP.killed is made.
# Returns bats' exit status.
tap_until_failure() {
    local tap=$1 mode=$2 labs_dir=$3 bats_file=$4
    local fifo=$tap.fifo line read_status bats_pid in stopped=0 pending=0 wait
    local deadline=$((SECONDS + ${TAP_LIMIT:-300}))
    rm -f "$fifo"
    mkfifo "$fifo"
    # (A background job starts with SIGINT ignored, and bats could not trap
    # it: env restores the default first.)
    LABS_DIR="$labs_dir" setsid env --default-signal=INT \
        bats -F tap "${@:5}" "$bats_file" >"$fifo" 2>&1 3>&- 4>&- &
    bats_pid=$!
    # Ctrl-C does not reach bats's own group: pass it on, and read to the end
    # while bats tears the test down.
    trap 'stopped=1; kill -INT -- -"$bats_pid" 2>/dev/null' INT TERM
    exec {in}<"$fifo"
    while :; do
        wait=$((deadline > SECONDS ? deadline - SECONDS : 1))
        ((pending)) && wait=1
        IFS= read -r -t "$wait" line <&"$in"
        read_status=$?
        # The failure's comment lines are all out: stop bats now.
        if ((pending)) && { ((read_status > 128)) || [[ $read_status == 0 && $line != '#'* ]]; }; then
            pending=0
            kill -INT -- -"$bats_pid" 2>/dev/null
        fi
        if ((read_status != 0)); then
            if ((read_status > 128 && SECONDS < deadline)); then
                continue            # a signal, not the time limit
            elif ((SECONDS >= deadline)); then
                kill -KILL -- -"$bats_pid" 2>/dev/null
                printf '# killed after %s s\n' "${TAP_LIMIT:-300}" >>"$tap"
                ((stopped)) || touch "$tap.killed"
            fi
            break
        fi
        printf '%s\n' "$line" >>"$tap"
        [[ -n ${TAP_LINE_HOOK:-} ]] && "$TAP_LINE_HOOK" "$line"
        if ((!stopped)) && [[ $line =~ ^not\ ok\ [0-9]+\ (.*)$ ]]; then
            printf '%s\n' "${BASH_REMATCH[1]}"
            if [[ $mode != all ]]; then
                stopped=1
                pending=1
            fi
        fi
    done
    exec {in}<&-
    rm -f "$fifo"
    trap - INT TERM
    wait "$bats_pid"
}
