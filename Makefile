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
#   make SANITIZE=1 ...     AddressSanitizer + UBSan builds; WERROR=1: warnings fail
#   make clean

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

.PHONY: all test grade check-tests memcheck soak tour clean help $(LABS)

all: $(LABS)

$(LABS):
	@$(MAKE) --no-print-directory -C labs/$@

# With LABS_DIR set, the suite tests that tree and builds nothing here.
test:
	@tests/ensure-tools
	@$(if $(LABS_DIR),,$(MAKE) --no-print-directory all)
	@if [ -n "$(LAB)" ] && [ ! -f tests/$(LAB).bats ]; then echo "no tests/$(LAB).bats; labs: $(LABS)" >&2; exit 2; fi
	@if [ -n "$(FORMAT)" ] && [ -z "$(BATS_FORMAT)" ]; then echo "FORMAT is tap or junit, not '$(FORMAT)'" >&2; exit 2; fi
	set -o pipefail; LABS_DIR="$(or $(LABS_DIR),$(CURDIR)/labs)" bats $(BATS_PARALLEL) $(BATS_FORMAT) $(TEST_FILES) $(BATS_OUTPUT)
	@$(if $(filter junit,$(FORMAT)),echo "JUnit results in junit.xml")

# Grade a tree of lab binaries (default: this checkout's, built first).
grade:
	@tests/ensure-tools
	@$(if $(LABS_DIR),,$(MAKE) --no-print-directory all)
	@LABS_DIR="$(or $(LABS_DIR),$(CURDIR)/labs)" tests/grade $(LAB)

check-tests:
	@tests/ensure-tools
	@tests/check-tests $(LAB)

soak: all
	@tests/ensure-tools
	@tests/soak $(or $(RUNS),20) $(or $(HOG_RUNS),5)

# valgrind wants a plain build: ASan and valgrind do not mix.
memcheck:
	@tests/ensure-tools
	@command -v valgrind >/dev/null || { echo "memcheck needs valgrind: apt-get install valgrind" >&2; exit 1; }
	@$(if $(LABS_DIR),,$(MAKE) --no-print-directory all)
	LABS_DIR="$(or $(LABS_DIR),$(CURDIR)/labs)" bats $(if $(LAB),-f '^$(LAB):') tests/memcheck/valgrind.bats

tour: all
	@tests/ensure-tools
	@tour/run

clean:
	@for lab in $(LABS); do $(MAKE) --no-print-directory -C labs/$$lab clean; done

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

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
