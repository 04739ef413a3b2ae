#!/usr/bin/python3
"""spoof_syn_pcap.py OUT COUNT SRC_MAC DST_MAC NET6 DST6 PORT: a pcap of
COUNT TCP SYNs to [DST6]:PORT, each from its own spoofed IPv6 source
NET6:X::Y (NET6 a /48 such as fd00:231:20; X = 1 + i / 65536, so no source
is on the lab's NET6::/64 link and every one falls under the lab's
blackhole route).  Written with struct, not scapy: a few hundred thousand
frames in a second or two.  Checksums are right, so the kernel answers
(into the blackhole), as it would a real flood."""
import socket
import struct
import sys

out, count = sys.argv[1], int(sys.argv[2])
src_mac = bytes.fromhex(sys.argv[3].replace(":", ""))
dst_mac = bytes.fromhex(sys.argv[4].replace(":", ""))
net6, dst6, port = sys.argv[5], sys.argv[6], int(sys.argv[7])
dst = socket.inet_pton(socket.AF_INET6, dst6)
groups = [int(g, 16) for g in net6.split(":")]
if len(groups) != 3:
    sys.exit("NET6 must be a /48 written as three groups, e.g. fd00:231:20")


def words(b):
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


TCP_LEN = 20
# The checksum's constant part: destination, length, next header, and the
# TCP header with a zero checksum (the source port varies, added below).
base = words(dst) + TCP_LEN + 6 + words(struct.pack("!HIIBBHHH", 0, 0, 0, 5 << 4, 0x02,
                                                     64240, 0, 0)) + port
eth = dst_mac + src_mac + b"\x86\xdd"
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(count):
        g = groups + [1 + (i >> 16), 0, 0, 0, i & 0xffff]
        src = struct.pack("!8H", *g)
        sport = 1024 + (i % 60000)
        seq = (i * 2654435761) & 0xffffffff
        s = base + words(src) + sport + (seq >> 16) + (seq & 0xffff)
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        tcp = struct.pack("!HHIIBBHHH", sport, port, seq, 0, 5 << 4, 0x02, 64240,
                          ~s & 0xffff, 0)
        ip6 = struct.pack("!IHBB", 6 << 28, TCP_LEN, 6, 64) + src + dst
        frame = eth + ip6 + tcp
        f.write(struct.pack("<IIII", i // 100000, i % 100000 * 10, len(frame), len(frame)))
        f.write(frame)
