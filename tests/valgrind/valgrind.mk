# `make valgrind`: the core library's unit tests (test_common,
# test_profile*, test_export*) under memcheck; any leak, invalid access or
# uninitialised read fails the target. Not for SANITIZE=1 builds (ASan and
# valgrind exclude each other).

VALGRIND ?= valgrind
VALGRIND_TESTS := $(filter $(BUILD)/tests/unit/test_common \
	$(BUILD)/tests/unit/test_profile% $(BUILD)/tests/unit/test_export%, \
	$(UNIT_TESTS))
VALGRIND_FLAGS := --leak-check=full --show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1 \
	--track-origins=yes --suppressions=tests/valgrind/ddprof.supp -q

.PHONY: valgrind
valgrind: $(VALGRIND_TESTS)
	$(Q)set -e; for t in $(VALGRIND_TESTS); do \
		echo "valgrind: $$t"; \
		DDPROF_TEST_BUILD_DIR=$(BUILD) $(VALGRIND) $(VALGRIND_FLAGS) \
			--log-file=$$t.valgrind.log $$t >$$t.valgrind.out 2>&1 || { \
			cat $$t.valgrind.out $$t.valgrind.log | tail -80; \
			echo "valgrind: $$t FAILED"; exit 1; }; \
		[ ! -s $$t.valgrind.log ] || { cat $$t.valgrind.log; \
			echo "valgrind: $$t reported errors"; exit 1; }; \
		grep -h '^\[  PASSED' $$t.valgrind.out; \
	done; echo "valgrind: clean"
