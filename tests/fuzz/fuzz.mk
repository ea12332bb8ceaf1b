# libFuzzer targets (clang): `make fuzz` builds $(BUILD)/fuzz/fuzz_*, each
# linked with the project sources recompiled by clang with
# ASan+UBSan+fuzzer coverage into $(BUILD)/fuzz/obj (apart from the gcc
# objects). `make fuzz-smoke` runs every target for FUZZ_SECONDS on a copy
# of its seed corpus (tests/fuzz/corpus/<target>) and fails on any crash,
# leak or timeout; crashing inputs land in $(BUILD)/fuzz/artifacts.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -g -O1 $(WARN) $(FUZZ_SAN) -MMD -MP
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
# library code: coverage instrumentation without libFuzzer's main
FUZZ_LIB_SRCS := $(CORE_SRCS) $(AGENT_SRCS) tests/lib/pprof_reader.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS)) \
	$(BUILD)/fuzz/obj/gen/profile.pb.o
FUZZ_LIB := $(BUILD)/fuzz/libddprof-fuzz.a

$(BUILD)/fuzz/obj/%.o: %.c | $(BUILD)/gen/profile.pb.h deps
	$(call msg,FUZZCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(DD_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-c $< -o $@

$(BUILD)/fuzz/obj/gen/profile.pb.o: $(BUILD)/gen/profile.pb.c
	$(call msg,FUZZCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(DD_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) | deps
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) $(DD_CPPFLAGS) -Itests $(FUZZ_CFLAGS) -fsanitize=fuzzer \
		-o $@ $< $(FUZZ_LIB) $(LIBS)

.PHONY: fuzz fuzz-smoke
fuzz: $(FUZZ_BINS)

# One target after another; a crash stops the run with libFuzzer's report.
fuzz-smoke: fuzz
	$(Q)set -e; for t in $(FUZZ_NAMES); do \
		rm -rf $(BUILD)/fuzz/run/$$t; mkdir -p $(BUILD)/fuzz/run/$$t \
			$(BUILD)/fuzz/artifacts; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/artifacts/$$t- \
			$(BUILD)/fuzz/run/$$t tests/fuzz/corpus/$$t \
			>$(BUILD)/fuzz/run/$$t.log 2>&1 || { \
			tail -60 $(BUILD)/fuzz/run/$$t.log; \
			echo "fuzz: $$t FAILED (log: $(BUILD)/fuzz/run/$$t.log)"; \
			exit 1; }; \
		grep -E '^stat::(number_of_executed_units|new_units_added)' \
			$(BUILD)/fuzz/run/$$t.log | tr '\n' ' '; echo; \
	done; echo "fuzz-smoke: all targets clean"

-include $(shell find $(BUILD)/fuzz/obj -name "*.d" 2>/dev/null)
