# Helper of tests/bench/overhead.sh: runstat measures a command's rusage.
# Built for `make check` too, so a broken helper shows before a bench run.
RUNSTAT := $(BUILD)/bench-tools/runstat
$(RUNSTAT): tests/bench/runstat.c
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $<
EXTRA_BENCH_DEPS += $(RUNSTAT)
EXTRA_CHECK_DEPS += $(RUNSTAT)
