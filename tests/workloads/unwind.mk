# Unwinding workloads beyond the one-C-file default: shared and dlopen'ed
# libraries, C++, and variants of uw_deep built with frame pointers,
# without any CFI, with .debug_frame only, and stripped.
UW_WL := $(BUILD)/workloads

$(UW_WL)/libuw_%.so: tests/workloads/lib/uw_%_lib.c | deps
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WL_CFLAGS) -fPIC -shared -o $@ $<

$(UW_WL)/uw_libs: $(UW_WL)/libuw_shared.so $(UW_WL)/libuw_plugin.so
$(UW_WL)/uw_libs: WL_LIBS += -L$(UW_WL) -luw_shared -Wl,-rpath,'$$ORIGIN' -ldl

$(UW_WL)/uw_cxx: tests/workloads/uw_cxx.cc tests/workloads/uw_common.h | deps
	$(call msg,CXX,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(WL_CFLAGS) -o $@ $<

# name: extra flags
UW_DEEP_VARIANTS := uw_deep_fp uw_deep_debugframe uw_deep_nocfi uw_deep_stripped
$(UW_WL)/uw_deep_fp: UW_FLAGS := -fno-omit-frame-pointer
$(UW_WL)/uw_deep_debugframe: UW_FLAGS := -fno-asynchronous-unwind-tables -fno-unwind-tables
$(UW_WL)/uw_deep_nocfi: UW_FLAGS := -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fno-omit-frame-pointer -g0
$(UW_WL)/uw_deep_stripped: UW_FLAGS := -s

$(addprefix $(UW_WL)/,$(UW_DEEP_VARIANTS)): tests/workloads/uw_deep.c \
		tests/workloads/uw_common.h | deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WL_CFLAGS) $(UW_FLAGS) -o $@ $<

EXTRA_WORKLOADS += $(UW_WL)/libuw_shared.so $(UW_WL)/libuw_plugin.so \
	$(UW_WL)/uw_cxx $(addprefix $(UW_WL)/,$(UW_DEEP_VARIANTS))
