#!/usr/bin/env python3
"""Write seeds for fuzz_pcap_decode from the captures in tests/pcaps.

From an IPv4 and an IPv6 capture it takes a SYN and a segment carrying
SMTP text, and writes each in every framing pcap_decode() reads: Ethernet
as captured, with an 802.1Q tag and with 802.1ad + 802.1Q tags, Linux
cooked v1 and v2, raw IP, and BSD loopback in host (little-endian) and
network order.  The IP packets are the captured ones; only the link
header is made here.  Standard library only.

usage: pcap_decode_seeds.py PCAP_DIR OUT_DIR
"""
import os
import struct
import sys

from pcap_frames import frames

PICK = {
    "v4": "arkime_submission587-rcpt-553.pcap",
    "v6": "zeek_ipv6-gmail-ehlo-char-by-char.pcap",
}


def tcp_of(ip):
    """(flags, payload length) of the TCP segment in an IP packet."""
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:total]
    else:
        tcp = ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
    return tcp[13], len(tcp) - (tcp[12] >> 4) * 4


def pick(path):
    """A SYN and the first segment with SMTP text, as IP packets."""
    syn = data = None
    for fr in frames(path):
        if fr[12:14] not in (b"\x08\x00", b"\x86\xdd"):
            continue
        ip = fr[14:]
        flags, plen = tcp_of(ip)
        if syn is None and flags & 0x02:
            syn = ip
        if data is None and plen > 0:
            data = ip
    return {"syn": syn, "data": data}


def framings(ip, mac=b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02"):
    v6 = ip[0] >> 4 == 6
    etype = b"\x86\xdd" if v6 else b"\x08\x00"
    af_le = struct.pack("<I", 30 if v6 else 2)	# AF_INET6 varies by BSD; 30 is macOS
    af_be = struct.pack(">I", 30 if v6 else 2)
    sll = struct.pack("!HHH", 0, 1, 6) + mac[:6] + b"\0\0" + etype
    sll2 = etype + b"\0\0" + struct.pack("!IHBB", 2, 1, 0, 6) + mac[:6] + b"\0\0"
    return {
        "eth": mac + etype + ip,
        "vlan": mac + b"\x81\x00\x00\x19" + etype + ip,
        "qinq": mac + b"\x88\xa8\x00\x64\x81\x00\x00\x19" + etype + ip,
        "sll": sll + ip,
        "sll2": sll2 + ip,
        "raw": ip,
        "null": af_le + ip,
        "loop": af_be + ip,
    }


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for fam, name in PICK.items():
        for kind, ip in pick(os.path.join(src, name)).items():
            if ip is None:
                sys.exit("%s: no %s segment" % (name, kind))
            for framing, frame in framings(ip).items():
                with open(os.path.join(out, "%s-%s-%s" % (fam, kind, framing)), "wb") as f:
                    f.write(frame)


main()
