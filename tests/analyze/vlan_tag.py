#!/usr/bin/python3
"""vlan_tag.py IN.pcap OUT.pcap TAGS - the same capture with every Ethernet
frame behind TAGS VLAN tags: 1 is one 802.1Q tag (VLAN 10), 2 is QinQ (an
802.1ad outer tag, VLAN 20, then 802.1Q, VLAN 10), as switches stack them.
A frame already tagged gets only the outer tags it lacks (some reference
captures carry an 802.1Q tag on part of their frames).

Written byte by byte from the pcap format (either byte order, micro- or
nanosecond magic), independently of the decoder under test; the file's
snap length grows by the bytes added so no frame exceeds it."""
import struct
import sys

MAGICS = (0xA1B2C3D4, 0xA1B23C4D)
TAGS = {1: bytes.fromhex("8100000a"), 2: bytes.fromhex("88a80014" "8100000a")}
VLAN_TYPES = (b"\x81\x00", b"\x88\xa8")


def tags_in(frame):
    n, off = 0, 12
    while frame[off:off + 2] in VLAN_TYPES:
        n, off = n + 1, off + 4
    return n


def main(src, dst, ntags):
    data = open(src, "rb").read()
    for order in "<>":
        if struct.unpack(order + "I", data[:4])[0] in MAGICS:
            break
    else:
        sys.exit("vlan_tag: %s is not a classic pcap file" % src)
    magic, vmaj, vmin, zone, sigfigs, snap, link = struct.unpack(order + "IHHiIII", data[:24])
    if link != 1:
        sys.exit("vlan_tag: %s: link type %d, not Ethernet" % (src, link))
    out = [struct.pack(order + "IHHiIII", magic, vmaj, vmin, zone, sigfigs,
                       snap + len(TAGS[ntags]), link)]
    off, n = 24, 0
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(order + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) >= 14:
            have = tags_in(frame)
            # The outermost of the tags it lacks.
            tag = TAGS[ntags][:4 * max(0, ntags - have)]
            frame = frame[:12] + tag + frame[12:]
            incl, orig = incl + len(tag), orig + len(tag)
        out.append(struct.pack(order + "IIII", sec, frac, incl, orig) + frame)
        n += 1
    open(dst, "wb").write(b"".join(out))
    print("%d frames, %d tag(s) each" % (n, ntags))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
