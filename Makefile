# Socket labs. `make help` lists the targets.
#
#   make                    build every lab (each also builds alone: make -C labs/02-bind)
#   make 02-bind            build one lab
#   make test               the Bats suite (installs bats/nc first if it can)
#   make test LAB=02-bind   one lab's tests
#   LABS_DIR=/path make test    the suite against another tree of lab binaries
#   make tour               run every lab in order against a real peer
#   make SANITIZE=1 ...     AddressSanitizer + UBSan builds; WERROR=1: warnings fail
#   make clean

LABS := $(sort $(notdir $(wildcard labs/[0-9][0-9]-*)))

# Test files run in parallel (bats --jobs needs GNU parallel) unless JOBS=1.
# Tests within a file run one after another: each is quick, and starting a
# parallel job per test costs more than it saves (measured: 2.6 s against
# 0.7 s for tests/01-socket.bats).
JOBS ?= 4
BATS_PARALLEL = $(if $(filter-out 1,$(JOBS)),$(if $(shell command -v parallel),--jobs $(JOBS) --no-parallelize-within-files))
TEST_FILES = $(if $(LAB),tests/$(LAB).bats,tests)

.PHONY: all test tour clean help $(LABS)

all: $(LABS)

$(LABS):
	@$(MAKE) --no-print-directory -C labs/$@

# With LABS_DIR set, the suite tests that tree and builds nothing here.
test:
	@tests/ensure-tools
	@$(if $(LABS_DIR),,$(MAKE) --no-print-directory all)
	@if [ -n "$(LAB)" ] && [ ! -f tests/$(LAB).bats ]; then echo "no tests/$(LAB).bats; labs: $(LABS)" >&2; exit 2; fi
	LABS_DIR="$(or $(LABS_DIR),$(CURDIR)/labs)" bats $(BATS_PARALLEL) $(TEST_FILES)

tour: all
	@tests/ensure-tools
	@tour/run

clean:
	@for lab in $(LABS); do $(MAKE) --no-print-directory -C labs/$$lab clean; done

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'
