# libdeflate inflates the compressed sections of separate debug files
# (src/symbols/debug_inflate.c) about twice as fast as zlib.
LIBS += -ldeflate
