# ddprof-perf command: unit tests of src/cli link its objects (all but
# main.o) through a private archive; `make demo` is the README's main job.

CLI_LIB := $(BUILD)/libddprof-cli.a
CLI_LIB_OBJS := $(filter-out $(BUILD)/obj/src/cli/main.o,$(CLI_OBJS))

$(CLI_LIB): $(CLI_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# more specific than $(BUILD)/tests/%, so make prefers it for test_cli_*
$(BUILD)/tests/unit/test_cli_%: $(BUILD)/obj/tests/unit/test_cli_%.o \
		$(CLI_LIB) $(TEST_LIB) $(AGENT_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $< $(CLI_LIB) $(TEST_LIB) \
		$(AGENT_LIB) $(CORE_LIB) $(LIBS) $(TEST_LIBS)

.PHONY: demo
demo: all $(BUILD)/workloads/demo
	$(Q)$(BIN) -o $(BUILD)/demo.pb.gz -- $(BUILD)/workloads/demo
