# shellcheck shell=bash
# shellcheck disable=SC2034
# tests/helpers-grading.bash - what lets the suite grade a student's program
# fairly, loaded at the end of helpers.bash. The tests assert what a lab
# teaches, not the reference's incidental choices; these helpers say, once,
# which variations a correct program may show.
#
#   start_reference_lab LAB ARGS...   a peer lab, always this checkout's own
#   ere TEXT                    TEXT as an extended regex that matches it literally
#   data_sent FD BYTES LEFT     ERE: write(FD, BYTES, LEFT) or send(FD, BYTES, LEFT, FLAGS)
#   data_received FD BYTES SIZE ERE: read(FD, BYTES, SIZE) or recv(FD, BYTES, SIZE, FLAGS)
#   data_waiting FD             ERE: the "..." line before such a read
#   narrated_fd CALL [FILE]     the descriptor the lab's first "CALL(...) = N" line gave
#   names_value TEXT VALUE      TEXT names VALUE as a word of its own

# Peers. Some tests use one lab as another's peer (05-connect connects to
# 02-bind, 03-listen and 04-accept). The lab under test comes from LABS_DIR;
# a peer always comes from REFERENCE_DIR, this checkout's labs (built by
# `make test` and `make check`), so that a student's unfinished 04 costs no
# points in 05.
REFERENCE_DIR=${REFERENCE_DIR:-$(cd "${BASH_SOURCE[0]%/*}/../labs" && pwd)}

# start_reference_lab LAB ARGS...: start_lab, with the reference's LAB.
start_reference_lab() {
    LABS_DIR=$REFERENCE_DIR start_lab "$@"
}

# ere TEXT: TEXT with every character an extended regex gives a meaning
# escaped: `ere 'a.b (c)'` prints 'a\.b \(c\)'.
# (Bash alone: these helpers run many times a test, and start no process.)
ere() {
    local text=$1 escaped='' char i
    for ((i = 0; i < ${#text}; i++)); do
        char=${text:i:1}
        [[ $char == [][\\.*^\$+?\(\)\{\}\|/] ]] && escaped+='\'
        escaped+=$char
    done
    printf '%s\n' "$escaped"
}

# first_match ERE GROUP [FILE]: the GROUPth parenthesised part of FILE's
# (default: the lab's stdout) first line that matches ERE; for GROUP 0, that
# line's number. Nothing (status 1) when no line matches.
first_match() {
    local regex=$1 group=$2 line number=0
    [[ -r ${3:-$LAB_OUT} ]] || return 1
    while IFS= read -r line || [[ -n $line ]]; do
        number=$((number + 1))
        if [[ $line =~ $regex ]]; then
            if ((group == 0)); then echo "$number"; else printf '%s\n' "${BASH_REMATCH[group]}"; fi
            return 0
        fi
    done <"${3:-$LAB_OUT}"
    return 1
}

# data_sent FD BYTES LEFT: an ERE (no anchors) for the narration of a call
# that sent BYTES on FD, asked to send LEFT bytes, as either call narrates
# it: write(4, "Hello there.\n", 13) or send(4, "Hello there.\n", 13, 0),
# send's flags being 0 or MSG_NOSIGNAL and the like. write() and send()
# with no flags do the same on a connected socket, and a lab that does not
# teach their difference accepts both. FD, BYTES and LEFT are EREs.
data_sent() {
    printf '(write\\(%s, %s, %s\\)|send\\(%s, %s, %s, [A-Z_|0]+\\))' "$1" "$2" "$3" "$1" "$2" "$3"
}

# data_received FD BYTES SIZE: the same for a call that received: read(FD,
# BYTES, SIZE) or recv(FD, BYTES, SIZE, FLAGS). SIZE is the buffer's size,
# the program's own choice: pass '[0-9]+' unless the lab teaches it.
data_received() {
    printf '(read\\(%s, %s, %s\\)|recv\\(%s, %s, %s, [A-Z_|0]+\\))' "$1" "$2" "$3" "$1" "$2" "$3"
}

# data_waiting FD: an ERE for the line printed before a read that may block:
# "recv(FD, ..." or "read(FD, ...", whatever follows the descriptor.
data_waiting() {
    printf '^(read|recv)\\(%s[,)].*\\.\\.\\.$' "$1"
}

# narrated_fd CALL [FILE]: the result of the first "CALL(...) = N" line of
# the narration (default: the lab's stdout), e.g. `narrated_fd socket` -> 3.
# Which descriptor a call gets depends on what else the program opened:
# tests that are not about descriptor numbers read them from here.
narrated_fd() {
    first_match "^$1\\(.*\\) = ([0-9]+)( .*)?\$" 1 "${2:-$LAB_OUT}"
    return 0
}

# names_value TEXT VALUE: TEXT holds VALUE as a word of its own (no letter
# or digit right before or after it), or, for an empty VALUE, holds '' or "".
names_value() {
    local text=$1 value=$2 before after
    [[ -z $value ]] && { [[ $text == *"''"* || $text == *'""'* ]]; return; }
    while [[ $text == *"$value"* ]]; do
        before=${text%%"$value"*}
        after=${text#*"$value"}
        [[ ${before: -1} != [[:alnum:]] && ${after:0:1} != [[:alnum:]] ]] && return 0
        text=$after
    done
    return 1
}

# usage_text: what the lab under test prints for -h (its usage), worked out
# once per test file. The lab is the one the file is named after.
usage_text() {
    local file="$BATS_FILE_TMPDIR/usage-text"
    if [[ ! -e $file ]]; then
        local lab
        lab=$(basename "$BATS_TEST_FILENAME" .bats)
        timeout "$WAIT_SECONDS" "$(lab_binary "$lab")" -h >"$file.new" 2>/dev/null 3>&- 4>&-
        mv "$file.new" "$file"
    fi
    printf '%s\n' "$(<"$file")"
}

# own_words STDERR: STDERR without the lines of the usage text: what the
# program said about this mistake in its own words. own_words_into VAR
# STDERR: the same into VAR, without a subshell. (The usage text is read
# once per test, into USAGE_TEXT.)
own_words() {
    local words
    own_words_into words "$1"
    printf '%s\n' "$words"
}
own_words_into() {
    local -n own_words_var=$1
    local line
    [[ -n ${USAGE_TEXT+set} ]] || USAGE_TEXT=$(usage_text)
    own_words_var=''
    while IFS= read -r line; do
        [[ -n $line && $'\n'$USAGE_TEXT$'\n' == *$'\n'"$line"$'\n'* ]] && continue
        own_words_var+=$line$'\n'
    done <<<"$2"
    own_words_var=${own_words_var%$'\n'}
}

# socket_line FAMILY TYPE: an ERE for the narration of socket(FAMILY, TYPE,
# PROTOCOL) = FD, PROTOCOL being 0 or the protocol's own name (IPPROTO_TCP
# for a stream, as strace shows a program that names it): both make the
# same socket. For labs that do not teach socket()'s third argument.
socket_line() {
    printf '^socket\\(%s, %s, (0|IPPROTO_(IP|TCP|UDP))\\) = [0-9]+$' "$1" "$2"
}

# listening_fd [FILE]: the descriptor of the lab's "listen(FD, B) = 0" line.
listening_fd() {
    first_match '^listen\(([0-9]+), -?[0-9]+\) = 0( .*)?$' 1 "${1:-$LAB_OUT}"
    return 0
}

# accepted_fd [FILE]: the descriptor of the lab's first "accept(L) = FD" line.
accepted_fd() {
    first_match '^accept\([0-9]+\) = ([0-9]+)( .*)?$' 1 "${1:-$LAB_OUT}"
    return 0
}

# line_number ERE [FILE]: the number of the first line matching ERE (0: none).
line_number() {
    first_match "$1" 0 "${2:-$LAB_OUT}" || echo 0
}

# assert_in_order ERE...: the lab's narration has a line for each ERE, the
# first such lines in this order. For set-up whose order is the lesson
# (socket before bind before listen before accept).
assert_in_order() {
    local regex previous=0 previous_regex=start number
    for regex in "$@"; do
        number=$(line_number "$regex")
        ((number > 0)) || { show_lab_output; fail "no line matches /$regex/"; }
        ((number > previous)) || { show_lab_output; fail "/$regex/ comes before /$previous_regex/"; }
        previous=$number previous_regex=$regex
    done
}
