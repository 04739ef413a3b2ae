#!/usr/bin/python3
"""flood_pcap.py OUT DMAC SMAC SRC DST FLOWS PACKETS_PER_FLOW - a pcap of
full-size SMTP data segments (1400 bytes of payload, PSH+ACK, to port 25)
from SRC to DST over FLOWS connections, for tcpreplay to pour into the
capture faster than a stopped agent drains it.  No SYNs (XDP passes the
segments), deliberately wrong IP checksums (the receiving stack drops them
after the capture has seen them: no RST storm back)."""
import struct
import sys

PAYLOAD = b"X" * 1400


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def main(out, dmac, smac, src, dst, flows, per_flow):
    eth = mac(dmac) + mac(smac) + b"\x08\x00"
    frames = []
    for f in range(int(flows)):
        sport = 20000 + f
        for k in range(int(per_flow)):
            tcp = struct.pack("!HHIIBBHHH", sport, 25, 1000 + k * len(PAYLOAD), 1,
                              5 << 4, 0x18, 65535, 0, 0)
            total = 20 + len(tcp) + len(PAYLOAD)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, f & 0xffff, 0x4000, 64, 6,
                             0xdead, ip4(src), ip4(dst))
            frames.append(eth + ip + tcp + PAYLOAD)
    with open(out, "wb") as o:
        o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            o.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(fr), len(fr)) + fr)
    print("%d frames in %s flows" % (len(frames), flows))


if __name__ == "__main__":
    main(*sys.argv[1:8])
