# common/lab.mk - how every lab builds. A lab's Makefile sets NAME and
# includes this file, so `cd labs/02-bind && make` builds ./bind alone.
#
#   make                 build ./NAME
#   make CC=clang        another compiler (CFLAGS, LDFLAGS work the same way)
#   make WERROR=1        warnings are errors (CI builds this way)
#   make SANITIZE=1      AddressSanitizer + UndefinedBehaviorSanitizer
#   make clean

COMMON  := $(dir $(lastword $(MAKEFILE_LIST)))
CC      ?= cc
CFLAGS  ?= -std=c11 -O2 -g
WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wold-style-definition -Wvla -Wcast-qual
# _DEFAULT_SOURCE: POSIX plus the BSD/Linux socket extras (TCP_INFO ...).
CPPFLAGS += -D_DEFAULT_SOURCE -I$(COMMON)

ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

.PHONY: all clean FORCE
all: $(NAME)

# Rebuild when the compiler or flags change (plain, SANITIZE=1, clang ...).
BUILD_FLAGS := $(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) $(LDFLAGS)
.build-flags: FORCE
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

$(NAME): $(NAME).c $(COMMON)lab.c $(COMMON)lab.h .build-flags
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -o $@ $(NAME).c $(COMMON)lab.c $(LDFLAGS)

clean:
	rm -f $(NAME) .build-flags
