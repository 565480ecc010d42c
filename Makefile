# xenshare: one non-recursive Makefile.
#   make            build/xenshare-back, build/xenshare-front,
#                   build/xenshare-dedup, test programs
#   make check      every test (unit, codec corpus, integration over the
#                   local transport, hostile clients, sanitizer build)
#   make check-xen  the real-Xen rig (boots Xen 4.17 under QEMU)
#   make bench      benchmark harness, ratios against host and passthrough
#   make fuzz       libFuzzer on codec + dispatch (clang), FUZZ_SECONDS=N
#   make SAN=1      AddressSanitizer + UBSan build in build-san/

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

CC ?= gcc
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wno-unused-parameter
ifneq ($(WERROR),0)
WARN += -Werror
endif
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -D_GNU_SOURCE -I. -pthread $(WARN) $(SANFLAGS) -MMD -MP
LDFLAGS += -pthread $(SANFLAGS)

FUSE_CFLAGS := $(shell pkg-config --cflags fuse3)
FUSE_LIBS := $(shell pkg-config --libs fuse3)
# The worker sandbox's system call filter (backend/daemon/sandbox.c), linked
# wherever the file service is.
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp)
XEN_PKGS := xenstore xenevtchn xengnttab
HAVE_XEN := $(shell pkg-config --exists $(XEN_PKGS) && echo 1)
ifeq ($(HAVE_XEN),1)
XEN_CFLAGS := $(shell pkg-config --cflags $(XEN_PKGS)) -DXSH_HAVE_XEN=1
XEN_LIBS := $(shell pkg-config --libs $(XEN_PKGS))
TPORT_SRCS := $(wildcard transport/*.c)
else
TPORT_SRCS := $(filter-out transport/xen%.c,$(wildcard transport/*.c))
endif

PROTO_SRCS := $(wildcard protocol/*.c lib/*.c)
BACK_SRCS := $(wildcard backend/service/*.c backend/daemon/*.c)
FRONT_SRCS := $(wildcard frontend/*.c)
# The file service without its main(): linked into the fuzz harness and
# the hostile-client tests.
SERVICE_SRCS := $(filter-out backend/daemon/main.c,$(BACK_SRCS))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

BACK_BIN := $(BUILD)/xenshare-back
FRONT_BIN := $(BUILD)/xenshare-front
# Administrator's tools beside the daemons (tools/): xenshare-dedup.
DEDUP_BIN := $(BUILD)/xenshare-dedup
XXHASH_CFLAGS := $(shell pkg-config --cflags libxxhash)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c tests/integration/*.c tests/hostile/*.c)
TOOL_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TOOL_SRCS))

all: $(BACK_BIN) $(FRONT_BIN) $(DEDUP_BIN) $(UNIT_BINS) $(TOOL_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FUSE_CFLAGS) $(XEN_CFLAGS) -c $< -o $@

$(BACK_BIN): $(call obj,$(BACK_SRCS) $(PROTO_SRCS) $(TPORT_SRCS))
	$(CC) $(LDFLAGS) $^ -o $@ $(XEN_LIBS) $(SECCOMP_LIBS)

$(FRONT_BIN): $(call obj,$(FRONT_SRCS) $(PROTO_SRCS) $(TPORT_SRCS))
	$(CC) $(LDFLAGS) $^ -o $@ $(FUSE_LIBS) $(XEN_LIBS)

# xxHash is used header-only (XXH_INLINE_ALL): no library to link.
$(DEDUP_BIN): tools/dedup.c backend/service/dedup.h $(call obj,lib/walk.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XXHASH_CFLAGS) $(LDFLAGS) $< $(call obj,lib/walk.c) -o $@

# Unit tests link the protocol code and the file service.
$(BUILD)/tests/unit/%: tests/unit/%.c $(call obj,$(PROTO_SRCS) $(SERVICE_SRCS) $(TPORT_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(XEN_LIBS) $(SECCOMP_LIBS)

# The frontend's request client has no FUSE dependency: its test links it.
$(BUILD)/tests/unit/test_client: $(call obj,frontend/client.c frontend/restore.c)

# Test tools: hostile clients link protocol + transports; the rest are
# plain programs that only use syscalls.
$(BUILD)/tests/hostile/%: tests/hostile/%.c $(call obj,$(PROTO_SRCS) $(SERVICE_SRCS) $(TPORT_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(XEN_LIBS) $(SECCOMP_LIBS)

$(BUILD)/tests/%: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

check: all
	BUILD=$(BUILD) tests/run-tests.sh

check-xen: all
	BUILD=$(BUILD) tests/xen/run.sh

clean:
	rm -rf build build-san build-fuzz

# The benchmark harness (bench/run.sh): host vs FUSE passthrough vs xenshare.
bench: all
	$(MAKE) -C bench BUILD=../$(BUILD)
	bench/run.sh --quick

.PHONY: all check check-xen clean fuzz bench

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- fuzz ---------------------------------------------------------------
# libFuzzer on codec + dispatch (tests/fuzz/, docs/robustness.md).
#   make fuzz [FUZZ_SECONDS=N]  build with clang into build-fuzz/, fuzz a
#                               copy of tests/fuzz/corpus for N seconds, then
#                               merge what is new back into it, minimised.
# The replay driver feeds the committed corpus to the same harness with
# the normal compiler; `make check` runs it.
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_CC ?= clang
FUZZ_CFLAGS := -O1 -g -std=gnu11 -D_GNU_SOURCE -I. -pthread -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Wno-unused-parameter -MMD -MP
FUZZ_SRCS := $(PROTO_SRCS) $(SERVICE_SRCS) $(TPORT_SRCS)
FUZZ_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_SRCS))
FUZZ_BIN := $(FUZZ_BUILD)/fuzz_dispatch

all: $(BUILD)/tests/fuzz/replay

$(BUILD)/tests/fuzz/replay: tests/fuzz/replay.c tests/fuzz/fuzz_dispatch.c \
		$(call obj,$(PROTO_SRCS) $(SERVICE_SRCS) $(TPORT_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(XEN_LIBS) $(SECCOMP_LIBS)

# Coverage for the code under test, not for the harness's own checks.
FUZZ_COV := -fsanitize=fuzzer-no-link
$(FUZZ_BUILD)/obj/tests/fuzz/fuzz_dispatch.o: FUZZ_COV :=

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_COV) $(XEN_CFLAGS) -c $< -o $@

$(FUZZ_BIN): $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_dispatch.o $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(XEN_LIBS) $(SECCOMP_LIBS)

# tests/fuzz/fuzz.sh fuzzes a copy of the corpus, then merges it back:
# seeds and crash-* inputs always stay, other inputs only while they add
# coverage.
fuzz: $(FUZZ_BIN)
	tests/fuzz/fuzz.sh $(FUZZ_BIN) $(FUZZ_SECONDS) $(FUZZ_BUILD)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
