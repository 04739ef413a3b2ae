#!/usr/bin/env python3
"""Write seeds for fuzz_smtp_stream from the captures in tests/pcaps.

Each capture becomes one seed: its TCP segments on SMTP ports (25, 465,
587, 1224) in the record format described in tests/fuzz/fuzz_smtp_stream.c,
sequence numbers expressed as deltas from each sender's next octet, so
retransmissions and holes survive.  Classic pcap, Ethernet/IPv4/IPv6 only
(all the reference captures are).  Standard library only.

usage: smtp_stream_seeds.py PCAP_DIR OUT_DIR
"""
import os
import struct
import sys

from pcap_frames import frames

PORTS = {25, 465, 587, 1224}


def tcp_of(frame):
    if len(frame) < 14:
        return None
    etype = struct.unpack(">H", frame[12:14])[0]
    p = frame[14:]
    if etype == 0x0800 and len(p) >= 20 and p[9] == 6:
        hl = (p[0] & 15) * 4
        tot = struct.unpack(">H", p[2:4])[0]
        src, dst, t = p[12:16], p[16:20], p[hl:tot]
    elif etype == 0x86DD and len(p) >= 40 and p[6] == 6:
        plen = struct.unpack(">H", p[4:6])[0]
        src, dst, t = p[8:24], p[24:40], p[40:40 + plen]
    else:
        return None
    if len(t) < 20:
        return None
    sport, dport, seq = struct.unpack(">HHI", t[:8])
    thl = (t[12] >> 4) * 4
    return src, sport, dst, dport, seq, t[13], t[thl:]


def seed(path):
    flows, nexts, out = {}, {}, bytearray()
    for frame in frames(path):
        d = tcp_of(frame)
        if not d:
            continue
        src, sport, dst, dport, seq, tflags, payload = d
        if sport not in PORTS and dport not in PORTS:
            continue
        key = frozenset([(src, sport), (dst, dport)])
        if key not in flows:
            syn_ack = (tflags & 0x12) == 0x12
            client = (dst, dport) if (syn_ack or dport not in PORTS) else (src, sport)
            flows[key] = (len(flows) % 8, client)
        idx, client = flows[key]
        server = (src, sport) != client
        fl = (1 if server else 0) | 0x80
        fl |= 0x02 if tflags & 0x02 else 0
        fl |= 0x04 if tflags & 0x01 else 0
        fl |= 0x08 if tflags & 0x04 else 0
        fl |= 0x10 if tflags & 0x10 else 0
        nk = (key, server)
        delta = 0
        if nk in nexts:
            delta = (seq - nexts[nk] + 2**31) % 2**32 - 2**31
            delta = max(-32768, min(32767, delta))
        else:
            nexts[nk] = seq
        if delta & 1:  # odd deltas mean "snaplen cut" to the target
            delta -= 1 if delta > 0 else -1
        rec = bytearray([fl, idx])
        if delta:
            rec[0] |= 0x20
            rec += struct.pack(">h", delta)
        payload = payload[:65535]
        rec += struct.pack(">H", len(payload)) + payload
        out += rec
        end = (seq + len(payload) + (1 if tflags & 2 else 0) + (1 if tflags & 1 else 0)) % 2**32
        if (end - nexts[nk]) % 2**32 < 2**31:
            nexts[nk] = end
    return bytes(out)


def main():
    src_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(src_dir)):
        if name.endswith(".pcap"):
            with open(os.path.join(out_dir, name[:-5]), "wb") as f:
                f.write(seed(os.path.join(src_dir, name)))


if __name__ == "__main__":
    main()
