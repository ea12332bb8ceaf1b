#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_record: perf records as the sampler's
events produce them (sample with callchain, registers and a stack copy,
MMAP2, COMM with exec, FORK, EXIT, LOST), after fuzz_record's 4-byte
prefix (layout selector, extra bits, ring start offset)."""
import os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__) + "/corpus/record"
os.makedirs(out, exist_ok=True)

def trailer(pid, tid, time, cpu):
    return struct.pack("<IIQII", pid, tid, time, cpu, 0)

def rec(typ, misc, body):
    return struct.pack("<IHH", typ, misc, 8 + len(body)) + body

def padstr(s):
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 8)

def sample(pid, tid, ip, stack=b"\x11" * 64, chain=(0xffffffffffffff80, 0xffffffff81000000, 0xfffffffffffffe00, 0x401000)):
    body = struct.pack("<QIIQIIQ", ip, pid, tid, 1000, 0, 0, 10101010)
    body += struct.pack("<Q", len(chain)) + b"".join(struct.pack("<Q", c) for c in chain)
    regs = [0] * 17
    regs[7] = 0x7ffc0000  # sp
    regs[8] = ip
    body += struct.pack("<Q", 2) + b"".join(struct.pack("<Q", r) for r in regs)
    body += struct.pack("<Q", len(stack)) + stack + struct.pack("<Q", len(stack) // 2)
    return rec(9, 2, body)

def mmap2(pid, addr, length, path):
    body = struct.pack("<IIQQQIIQQII", pid, pid, addr, length, 0, 8, 1, 1234, 0, 5, 2)
    return rec(10, 2, body + padstr(path) + trailer(pid, pid, 900, 0))

def comm(pid, tid, name, exec_=True):
    return rec(3, 0x2000 if exec_ else 0, struct.pack("<II", pid, tid) + padstr(name) + trailer(pid, tid, 800, 0))

def task(typ, pid, ppid, tid, ptid):
    return rec(typ, 0, struct.pack("<IIIIQ", pid, ppid, tid, ptid, 700) + trailer(pid, tid, 700, 0))

def lost(n):
    return rec(2, 0, struct.pack("<QQ", 1, n) + trailer(0, 0, 950, 0))

def seed(name, records, start=0, sel=1, extra=0):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([sel, extra, start >> 8, start & 0xff]) + b"".join(records))

seed("session", [task(7, 100, 1, 100, 1), comm(100, 100, "app"),
                 mmap2(100, 0x400000, 0x2000, "/usr/bin/app"),
                 mmap2(100, 0x7f0000000000, 0x10000, "/lib/x86_64-linux-gnu/libc.so.6"),
                 sample(100, 100, 0x400100), sample(100, 101, 0x7f0000000100),
                 task(7, 100, 100, 101, 100), comm(100, 101, "worker", False),
                 lost(3), task(4, 100, 100, 101, 101), task(4, 100, 1, 100, 1)])
seed("wrap", [sample(200, 200, 0x1000, stack=b"\x22" * 512), mmap2(200, 0x1000, 0x1000, "[vdso]")], start=0x1f00)
seed("fork", [task(7, 300, 100, 300, 100), mmap2(300, 0x500000, 0x3000, "/a b (deleted)"),
              comm(300, 300, "child"), sample(300, 300, 0x500010)])
seed("nostack", [sample(400, 400, 0x10, stack=b"")], sel=0)
seed("extra", [lost(1)], sel=3, extra=0x21)
