# Socket labs. `make help` lists the targets.
#
#   make                    build every lab (each also builds alone: make -C labs/02-bind)
#   make 02-bind            build one lab
#   make test               the Bats suite (installs bats/nc first if it can)
#   make test LAB=02-bind   one lab's tests
#   LABS_DIR=/path make test    the suite against another tree of lab binaries
#   make test FORMAT=tap    TAP to stdout and results.tap; FORMAT=junit: junit.xml
#   LABS_DIR=/path make grade   a score table for another tree (LAB=... narrows it)
#   make check-tests        every mutant in tests/mutants/ must be caught
#   make grade-class SUBMISSIONS=DIR   grade every student folder in DIR, each in a
#                           sandbox, JOBS=N at once: OUT=DIR (grading-output/) gets
#                           grades.csv, STUDENT/results.json (Gradescope), STUDENT/log/
#   make check-grading      grade a small generated class with hostile submissions (slow)
#   make grade-class-demo STUDENTS=30   generate a class of 30 and grade it (timed)
#   make memcheck           one run of each lab under valgrind: no error, leak or open fd
#   make soak RUNS=20       the suite RUNS times in a row, then 5 more with the cores busy
#   make tour               run every lab in order against a real peer
#   make timelines          trace each lab's scenario (timelines/) and draw docs/pictures/NN-name.svg
#   make timeline LAB=04-accept   one lab's timeline
#   make site               _site/: each lab's source beside its notes (open _site/index.html)
#   make check-site         pictures up to date, narration agrees, the site in headless Chromium
#   make SANITIZE=1 ...     AddressSanitizer + UBSan builds; WERROR=1: warnings fail
#   make bench              processes, CPU and wall time of the suite (LAB=... one file)
#   make bench BASE=9eb6ff3 the same side by side with another commit
#   make bench LAB=01-08 BASE=9eb6ff3   ... for labs 01 to 08 only (LAB: one lab, a list, or a range)
#   make bench FAILING=1 LAB=04-accept   ... against broken labs that print nothing
#   make bench CHECK=1      ... of check-tests
#   make clean
#
# Students (docs/README.md, "For students"):
#   make exercises          exercises/NN-name/ from labs/ (never overwrites a file you edited)
#   make exercises RESET=04-accept   a fresh copy of one lab (yours goes to exercises/.backup/)
#   make check LAB=04-accept   build your exercise, run its tests up to the first failure, with a hint
#   make progress           every lab: done, in progress or not started
#   make watch LAB=04-accept   make check again each time you save
#   make check-exercises    each exercise builds and fails; filled back from labs/ it is labs/ and passes

SHELL := /bin/bash

LABS := $(sort $(notdir $(wildcard labs/[0-9][0-9]-*)))

# Test files run in parallel (bats --jobs needs GNU parallel) unless JOBS=1.
# Tests within a file run one after another: each is quick, and starting a
# parallel job per test costs more than it saves (measured: 2.6 s against
# 0.7 s for tests/01-socket.bats).
JOBS ?= 4
BATS_PARALLEL = $(if $(filter-out 1,$(JOBS)),$(if $(shell command -v parallel),--jobs $(JOBS) --no-parallelize-within-files))
TEST_FILES = $(if $(LAB),tests/$(LAB).bats,tests)

# FORMAT=tap or junit: machine-readable results for a course's CI.
BATS_FORMAT = $(if $(filter tap,$(FORMAT)),-F tap,$(if $(filter junit,$(FORMAT)),-F junit))
BATS_OUTPUT = $(if $(filter tap,$(FORMAT)),| tee results.tap,$(if $(filter junit,$(FORMAT)),> junit.xml))

.PHONY: all test grade check-tests memcheck soak tour clean help bench $(LABS)
.PHONY: timelines timeline diagrams site check-site
.PHONY: exercises check progress watch check-exercises

all: $(LABS)

$(LABS):
	@$(MAKE) --no-print-directory -C labs/$@

# With LABS_DIR set, the suite tests that tree; this checkout's labs are
# built all the same: tests use them as peers (05 connects to 03 and 04).
test:
	@tests/ensure-tools
	@$(MAKE) --no-print-directory all
	@if [ -n "$(LAB)" ] && [ ! -f tests/$(LAB).bats ]; then echo "no tests/$(LAB).bats; labs: $(LABS)" >&2; exit 2; fi
	@if [ -n "$(FORMAT)" ] && [ -z "$(BATS_FORMAT)" ]; then echo "FORMAT is tap or junit, not '$(FORMAT)'" >&2; exit 2; fi
	set -o pipefail; LABS_DIR="$(or $(LABS_DIR),$(CURDIR)/labs)" bats $(BATS_PARALLEL) $(BATS_FORMAT) $(TEST_FILES) $(BATS_OUTPUT)
	@$(if $(filter junit,$(FORMAT)),echo "JUnit results in junit.xml")

# Grade a tree of lab binaries (default: this checkout's, built first).
grade:
	@tests/ensure-tools
	@$(MAKE) --no-print-directory all
	@LABS_DIR="$(or $(LABS_DIR),$(CURDIR)/labs)" tests/grade $(LAB)

check-tests:
	@tests/ensure-tools
	@tests/check-tests $(LAB)

soak: all
	@tests/ensure-tools
	@tests/soak $(or $(RUNS),20) $(or $(HOG_RUNS),5)

# What a run costs: tests, processes started, CPU and wall seconds, each run
# in a PID namespace of its own (tests/bench says how it counts).
bench:
	@tests/ensure-tools
	@LAB="$(LAB)" BASE="$(BASE)" FAILING="$(FAILING)" CHECK="$(CHECK)" REPEAT="$(REPEAT)" tests/bench

# valgrind wants a plain build: ASan and valgrind do not mix.
memcheck:
	@tests/ensure-tools
	@command -v valgrind >/dev/null || { echo "memcheck needs valgrind: apt-get install valgrind" >&2; exit 1; }
	@$(if $(LABS_DIR),,$(MAKE) --no-print-directory all)
	LABS_DIR="$(or $(LABS_DIR),$(CURDIR)/labs)" bats $(if $(LAB),-f '^$(LAB):') tests/memcheck/valgrind.bats

tour: all
	@tests/ensure-tools
	@tour/run

# Timelines, diagrams and the site (CONTRIBUTING.md, "Pictures and the site").
# Every labs/NN-name with a timelines/NN-name.sh gets a picture; a lab without
# one is named, and the check-site tests fail for it.
DIAGRAMS := $(patsubst %.dot,%.svg,$(wildcard docs/pictures/*.dot))

timelines: all diagrams
	@tests/ensure-tools site
	@traces=$$(mktemp -d) && trap 'rm -rf "$$traces"' EXIT && drawings=() && \
	for lab in $(LABS); do \
	    if [ -f timelines/$$lab.sh ]; then echo "timeline $$lab"; \
	        NO_DRAW=1 timelines/run $$lab docs/pictures "$$traces/$$lab" || exit 1; \
	        drawings+=("$$traces/$$lab" docs/pictures/$$lab.svg); \
	    else echo "timelines: no timelines/$$lab.sh, so $$lab has no picture" >&2; fi; \
	done && \
	"$$(timelines/python)" timelines/timeline.py draw "$${drawings[@]}"

timeline: all
	@tests/ensure-tools site
	@test -n "$(LAB)" || { echo "usage: make timeline LAB=NN-name" >&2; exit 2; }
	timelines/run $(LAB)

diagrams: $(DIAGRAMS)

docs/pictures/%.svg: docs/pictures/%.dot
	@tests/ensure-tools site
	dot -Tsvg $< -o $@

site:
	@tests/ensure-tools site
	"$$(timelines/python)" site/build.py _site

check-site: all
	@tests/ensure-tools browser
	bats tests/site

clean:
	@for lab in $(LABS); do $(MAKE) --no-print-directory -C labs/$$lab clean; done

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

# ---- Exercises: generated from the regions each lab marks as its lesson
# (tools/exercises; CONTRIBUTING.md, "Exercise regions"). exercises/ is not
# committed: it is the students' own work.
exercises:
	@tools/exercises generate $(if $(RESET),--reset $(RESET))

check:
	@test -d exercises || tools/exercises generate
	@tests/check $(LAB)

watch:
	@test -d exercises || tools/exercises generate
	@tests/check --watch $(LAB)

progress:
	@tools/exercises progress

check-exercises:
	@tests/ensure-tools
	@tests/check-exercises $(LAB)

# ---- Grading a class: each submission in a sandbox (bubblewrap) ----------
# JOBS here is the number of submissions graded at once; unless given, the
# number of cores (not the test-file default above).
CLASS_JOBS = $(if $(filter command line environment,$(origin JOBS)),$(JOBS))

.PHONY: grade-class check-grading grade-class-demo

# This checkout's labs are built first: tests that use a peer lab may take
# it from here.
grade-class: all
	@tests/ensure-tools
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade-class SUBMISSIONS=DIR [OUT=DIR] [JOBS=N]" >&2; exit 2; }
	@SUBMISSIONS="$(SUBMISSIONS)" OUT="$(or $(OUT),grading-output)" JOBS="$(CLASS_JOBS)" LAB="$(LAB)" tests/grade-class

# Slow (minutes): not part of `make test`.
check-grading: all
	@tests/ensure-tools
	bats tests/grading/class.bats

# A generated class (correct trees and trees with one lab broken by a
# mutant), graded and timed; COMPARE=1 then grades each tree alone with
# `make grade` and compares, lab by lab.
grade-class-demo: all
	@tests/ensure-tools
	@rm -rf "$(or $(CLASS_DIR),grading-class)" && tests/grading/make-class "$(or $(CLASS_DIR),grading-class)" "$(or $(STUDENTS),30)"
	@time SUBMISSIONS="$(or $(CLASS_DIR),grading-class)" OUT="$(or $(OUT),grading-output)" JOBS="$(CLASS_JOBS)" tests/grade-class
	@$(if $(COMPARE),tests/grading/compare "$(or $(CLASS_DIR),grading-class)" "$(or $(OUT),grading-output)")
