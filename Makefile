# ddprof-perf: one non-recursive Makefile. Objects, generated code, tests
# and tools all go under $(BUILD). `make V=1` shows the commands,
# `make SANITIZE=1 check` builds and tests with ASan+UBSan in build/san.

VERSION := 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

CC ?= cc
CXX ?= c++
AR ?= ar
CFLAGS ?= -O2 -g
LDFLAGS ?=

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
else
BUILD ?= build
SAN_FLAGS :=
endif

WARN := -Wall -Wextra -Wformat=2 -Wno-unused-parameter \
	-Wno-missing-field-initializers -Wno-sign-compare
DD_CPPFLAGS := -Iinclude -Isrc -I$(BUILD)/gen -D_GNU_SOURCE \
	-DDDPROF_VERSION_STR=\"$(VERSION)\"
DD_CFLAGS := -std=gnu11 -fPIC -MMD -MP $(WARN) $(SAN_FLAGS)
# libdeflate: inflates compressed separate debug files 3x faster than zlib
LIBS := -ldw -lelf -lunwind-x86_64 -lunwind -llz4 -lcurl -lz -ldeflate \
	-lprotobuf-nanopb -liberty -lpthread -lm
TEST_LIBS := -lcmocka

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)'
endif

# ---- sources, by layer -------------------------------------------------
GEN_SRCS := $(BUILD)/gen/profile.pb.c
CORE_SRCS := $(wildcard src/common/*.c src/profile/*.c src/export/*.c)
AGENT_SRCS := $(wildcard src/perf/*.c src/proc/*.c src/unwind/*.c src/symbols/*.c)
CLI_SRCS := $(wildcard src/cli/*.c)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
E2E_SRCS := $(wildcard tests/e2e/test_*.c)
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJS := $(call obj,$(CORE_SRCS)) $(GEN_SRCS:.c=.o)
AGENT_OBJS := $(call obj,$(AGENT_SRCS))
CLI_OBJS := $(call obj,$(CLI_SRCS))
TESTLIB_OBJS := $(call obj,$(TESTLIB_SRCS))

CORE_LIB := $(BUILD)/libddprof.a
AGENT_LIB := $(BUILD)/libddprof-agent.a
TEST_LIB := $(BUILD)/libddprof-test.a
BIN := $(BUILD)/ddprof-perf

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
E2E_TESTS := $(patsubst tests/e2e/%.c,$(BUILD)/tests/e2e/%,$(E2E_SRCS))
BENCHES := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
WORKLOADS := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(WORKLOAD_SRCS))
# fragments under tests/*/ may append to these and add their own rules
EXTRA_WORKLOADS :=
EXTRA_CHECK_DEPS :=
EXTRA_BENCH_DEPS :=

.PHONY: all lib check bench install uninstall clean deps fuzz tests help
all: lib $(if $(CLI_SRCS),$(BIN))
lib: $(CORE_LIB) $(AGENT_LIB)

# Installs missing Debian packages (a no-op when all are present).
deps:
	$(Q)scripts/install-deps.sh

# ---- generated protobuf code -------------------------------------------
$(BUILD)/gen/profile.pb.c $(BUILD)/gen/profile.pb.h: proto/profile.proto \
		$(wildcard proto/profile.options) | deps
	$(call msg,NANOPB,$<)
	$(Q)mkdir -p $(BUILD)/gen
	$(Q)/usr/bin/python3 /usr/bin/nanopb_generator.py -q -D $(BUILD)/gen \
		-I proto $(if $(wildcard proto/profile.options),-f proto/profile.options) \
		proto/profile.proto

$(BUILD)/gen/profile.pb.o: $(BUILD)/gen/profile.pb.c
	$(call msg,CC,$<)
	$(Q)$(CC) $(DD_CPPFLAGS) $(CPPFLAGS) $(DD_CFLAGS) $(CFLAGS) -c $< -o $@

# ---- objects and libraries ---------------------------------------------
$(BUILD)/obj/%.o: %.c | $(BUILD)/gen/profile.pb.h deps
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(DD_CPPFLAGS) $(CPPFLAGS) $(DD_CFLAGS) $(CFLAGS) \
		-DDDPROF_TEST_SRC_DIR=\"$(CURDIR)\" \
		-DDDPROF_TEST_BUILD_DIR=\"$(abspath $(BUILD))\" -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D) && rm -f $@ && $(AR) rcs $@ $^

$(AGENT_LIB): $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D) && rm -f $@ && $(AR) rcs $@ $^

$(TEST_LIB): $(TESTLIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D) && rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(CLI_OBJS) $(AGENT_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(AGENT_LIB) \
		$(CORE_LIB) $(LIBS)

# ---- tests, benchmarks, workloads --------------------------------------
LINK_TEST = $(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $< $(TEST_LIB) $(AGENT_LIB) \
	$(CORE_LIB) $(LIBS) $(TEST_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIB) $(AGENT_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(LINK_TEST)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(TEST_LIB) $(AGENT_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(LINK_TEST)

# Workloads are built without frame pointers unless a fragment says
# otherwise (WL_CFLAGS per target): the unwinder must not need them.
WL_CFLAGS := -O2 -g -fomit-frame-pointer -pthread
$(BUILD)/workloads/%: tests/workloads/%.c | deps
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WL_CFLAGS) $(WL_EXTRA) -o $@ $< $(WL_LIBS)

-include $(wildcard tests/*/*.mk)

# keep objects of test binaries (make would delete them as intermediates)
.SECONDARY:

tests: all $(UNIT_TESTS) $(E2E_TESTS) $(WORKLOADS) $(EXTRA_WORKLOADS) \
	$(EXTRA_CHECK_DEPS)

# Runs every test binary; prints cmocka's lines and one closing tally.
check: tests
	$(Q)scripts/run-tests.sh $(BUILD) $(UNIT_TESTS) $(E2E_TESTS)

bench: all $(BENCHES) $(WORKLOADS) $(EXTRA_WORKLOADS) $(EXTRA_BENCH_DEPS)
	$(Q)scripts/run-bench.sh $(BUILD) $(BENCHES)

# ---- install -----------------------------------------------------------
$(BUILD)/ddprof.pc: Makefile
	$(Q)mkdir -p $(@D)
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' \
		'includedir=$(INCLUDEDIR)' '' 'Name: ddprof' \
		'Description: profile store, pprof encoder and Datadog exporter' \
		'Version: $(VERSION)' 'Libs: -L$${libdir} -lddprof' \
		'Libs.private: -llz4 -lcurl -lz -lprotobuf-nanopb -lpthread -lm' \
		'Cflags: -I$${includedir}' > $@

install: all $(BUILD)/ddprof.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/ddprof $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(CORE_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 include/ddprof/*.h $(DESTDIR)$(INCLUDEDIR)/ddprof/
	install -m 644 $(BUILD)/ddprof.pc $(DESTDIR)$(PKGCONFIGDIR)/
	$(if $(wildcard $(BIN)),install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/)
	$(if $(wildcard man/ddprof-perf.1),install -m 644 man/ddprof-perf.1 $(DESTDIR)$(MANDIR)/man1/)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ddprof-perf $(DESTDIR)$(LIBDIR)/libddprof.a \
		$(DESTDIR)$(PKGCONFIGDIR)/ddprof.pc \
		$(DESTDIR)$(MANDIR)/man1/ddprof-perf.1
	rm -rf $(DESTDIR)$(INCLUDEDIR)/ddprof

clean:
	rm -rf build

help:
	@echo 'targets: all lib check bench fuzz install uninstall clean'
	@echo 'variables: CC CFLAGS LDFLAGS PREFIX DESTDIR V=1 SANITIZE=1'

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
