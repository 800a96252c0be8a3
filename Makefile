# Thin wrapper around Meson + Ninja. See README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps check check-unit check-system demo asan bench format clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

deps:
	@tools/deps.sh

check: deps all
	tests/run-tests.sh $(BUILD)

check-unit: all
	tests/run-tests.sh --unit $(BUILD)

check-system: all
	tests/run-tests.sh --system $(BUILD)

demo: deps all
	tools/demo.sh $(BUILD)

asan: deps
	[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 tests/run-tests.sh $(ASAN_BUILD)

bench: deps all
	bench/run.sh $(BUILD)

format:
	find src tests/unit -name '*.[ch]' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
