#!/bin/sh
# Builds the seed corpus of fuzz_elf: tiny x86_64 ELF files with the parts
# the loaders read (PT_LOAD, PT_GNU_EH_FRAME, a build-id note, .symtab,
# .debug_frame, DWARF lines and inlined functions), kept small so the fuzzer
# mutates structure rather than padding.
set -eu
out=${1:-$(dirname "$0")/corpus/elf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/t.c" <<'C'
static inline int sq(int x) { return x * x; }
__attribute__((noinline)) int leaf(int x) { return sq(x) + 1; }
__attribute__((noinline)) int mid(int x) { return leaf(x) * 2; }
void _start(void) { for (;;) mid(3); }
C
mkdir -p "$out"
cc -Os -g -nostdlib -static -fasynchronous-unwind-tables -Wl,--build-id \
	-Wl,--eh-frame-hdr -o "$out/static-g" "$tmp/t.c"
cc -Os -nostdlib -fPIC -shared -Wl,--build-id -o "$out/shared" "$tmp/t.c"
cc -Os -g -nostdlib -static -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -Wl,--build-id -o "$out/debug-frame" "$tmp/t.c"
strip -o "$out/stripped" "$out/shared"
ls -l "$out"
