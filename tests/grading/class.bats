#!/usr/bin/env bats
# Grading a class: `make check-grading` (slow: not part of `make test`).
# One grade-class run over a small generated class (a correct checkout, two
# submissions with one lab broken by a mutant, in the other two layouts) and
# one hostile submission per fixture in tests/grading/hostile/, graded side
# by side; then what the run must have done.
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

SECRET_TEXT=secret-of-another-student
UID_BASE=${GRADING_UID_BASE:-62000}

setup_file() {
    export CLASS=$BATS_FILE_TMPDIR/class OUT=$BATS_FILE_TMPDIR/out
    "$BATS_TEST_DIRNAME/make-class" "$CLASS" 3 hostile
    # What the escaping submission looks for: other students' files, the
    # grader's output.
    local student
    for student in "$CLASS"/student*/; do echo "$SECRET_TEXT" >"$student/SECRET"; done
    mkdir -p "$OUT"
    echo "$SECRET_TEXT" >"$OUT/SECRET"
    touch "$BATS_FILE_TMPDIR/before"
    # Its own uids (from UID_BASE): another grade-class may run on this machine.
    SUBMISSIONS=$CLASS OUT=$OUT JOBS=2 UID_BASE=$UID_BASE "$BATS_TEST_DIRNAME/../grade-class" \
        >"$BATS_FILE_TMPDIR/run.out" 2>&1 </dev/null 3>&- 4>&-
    echo $? >"$BATS_FILE_TMPDIR/run.status"
}

# score STUDENT LAB: "passed/total" from grades.csv.
score() {
    python3 - "$OUT/grades.csv" "$1" "$2" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(next(row[sys.argv[3]] for row in rows if row["student"] == sys.argv[2]))
EOF
}

labs() {
    local file
    for file in "$BATS_TEST_DIRNAME"/../[0-9][0-9]-*.bats; do basename "$file" .bats; done
}

# all_tests: how many tests the labs have together (the full score).
all_tests() {
    cat "$BATS_TEST_DIRNAME"/../[0-9][0-9]-*.bats | grep -c '^@test '
}

@test "grade-class grades every submission, prints a summary and exits 0 with nothing left behind" {
    run cat "$BATS_FILE_TMPDIR/run.out"
    assert_output --partial "Graded 10 submissions in"
    assert_equal "$(cat "$BATS_FILE_TMPDIR/run.status")" 0
    local student total
    total=$(all_tests)
    for student in "$CLASS"/*/; do
        student=$(basename "$student")
        assert_output --regexp "\] $student +[0-9]+/$total "
        [[ -s $OUT/$student/results.json ]] || fail "no results.json for $student"
        [[ -d $OUT/$student/log/tests ]] || fail "no logs for $student"
    done
}

@test "grades.csv has a row per student, a passed/total column per lab and the total" {
    run head -n 1 "$OUT/grades.csv"
    assert_output "student,$(labs | paste -sd, -),total"
    assert_equal "$(($(wc -l <"$OUT/grades.csv") - 1))" 10
    local total
    total=$(all_tests)
    run score student01-correct total
    assert_output "$total/$total"
}

@test "each student's results.json is Gradescope's format and adds up to the score in grades.csv" {
    local student
    for student in "$CLASS"/*/; do
        student=$(basename "$student")
        run python3 - "$OUT/$student/results.json" <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))
tests = result["tests"]
assert all({"name", "score", "max_score", "output"} <= set(test) for test in tests)
assert result["score"] == sum(test["score"] for test in tests)
print("%d/%d" % (result["score"], sum(test["max_score"] for test in tests)))
EOF
        assert_success
        assert_output "$(score "$student" total)"
    done
}

@test "a failed test's log and results.json give bats's own failure text" {
    # student02 hands in a mutant: at least one test fails, and says why.
    local student
    student=$(basename "$CLASS"/student02-*)
    run grep -h -A3 '^not ok ' "$OUT/$student"/log/tests/*.tap
    assert_success
    assert_output --partial "in test file tests/"
    run python3 -c 'import json, sys; print([t["output"] for t in json.load(open(sys.argv[1]))["tests"] if t["score"] == 0][0])' \
        "$OUT/$student/results.json"
    assert_output --partial "in test file tests/"
}

@test "each generated submission scores, lab by lab, exactly what make grade gives its tree alone" {
    local student lab passed total
    for student in "$CLASS"/student*/; do
        while read -r lab passed total; do
            assert_equal "$(basename "$student") $lab $(score "$(basename "$student")" "$lab")" \
                "$(basename "$student") $lab $passed/$total"
        done < <("$BATS_TEST_DIRNAME/grade-alone" "$student" 3>&- 4>&-)
    done
}

@test "a hostile submission loses points only in the lab it replaces" {
    local fixture student hostile_lab lab
    for fixture in "$BATS_TEST_DIRNAME"/hostile/*/; do
        student=hostile-$(basename "$fixture")
        hostile_lab=$(basename "$fixture"/*/)
        for lab in $(labs); do
            [[ $lab == "$hostile_lab" ]] && continue
            local expected
            expected=$(grep -c '^@test ' "$BATS_TEST_DIRNAME/../$lab.bats")
            assert_equal "$student $lab $(score "$student" "$lab")" "$student $lab $expected/$expected"
        done
    done
}

@test "the sandbox stopped the fork bomb at the process limit, and the flood at the file-size limit" {
    run cat "$OUT"/hostile-fork-bomb/log/tests/01-socket.stopped
    assert_output --partial "process limit"
    # The flood's logs were cut to 1 MiB each.
    local file
    for file in "$OUT"/hostile-flood-narration/log/tests/*; do
        (($(stat -c %s "$file") <= 1048576)) || fail "$file is $(stat -c %s "$file") bytes"
    done
}

@test "the escaping submission wrote nothing outside its scratch space and read no other submission" {
    run find "$CLASS" "$OUT" "$BATS_TEST_DIRNAME/../.." / -xdev -maxdepth 4 -name ESCAPED
    assert_output ""
    run grep -rl "$SECRET_TEXT" "$OUT" --exclude=SECRET
    assert_output ""
    # It did run, and saw nothing.
    run grep -rh 'found nothing' "$OUT/hostile-escape/log/tests/07-udp.tap"
    assert_success
}

@test "no process runs as a sandbox's uid and no sandbox mount is left" {
    run ps -e -o uid=,pid=,args=
    refute_output --regexp "^ *$((UID_BASE / 1000))[0-9]{3} "
    run grep -E '/run/socket-labs| /tmp/tree' /proc/self/mountinfo
    assert_output ""
}
