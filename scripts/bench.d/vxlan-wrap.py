#!/usr/bin/env python3
"""Re-encapsulate every frame of an Ethernet pcap in VXLAN, the way a traffic
mirror (AWS VPC Traffic Mirroring, a VTEP) delivers it: outer Ethernet / IPv4 /
UDP to port 4789 / VXLAN (VNI 42) / the original frame. The UDP source port is
a hash of the inner frame's address bytes, so each flow keeps one port.

Usage: vxlan-wrap.py IN.pcap OUT.pcap     (standard library only)
"""
import struct
import sys
import zlib

OUTER_ETH = bytes.fromhex("02000000000202000000000108 00".replace(" ", ""))
SRC_IP = bytes([10, 0, 0, 1])
DST_IP = bytes([10, 0, 0, 2])
VXLAN = struct.pack("!BxxxI", 0x08, 42 << 8)
OVERHEAD = 14 + 20 + 8 + 8
MAX_INNER = 65535 - 20 - 8 - 8


def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb", buffering=1 << 20) as f, open(dst, "wb", buffering=1 << 22) as out:
        head = f.read(24)
        if len(head) < 24:
            sys.exit(f"{src}: not a pcap file (too short)")
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            sys.exit(f"{src}: not a classic pcap file (magic {magic.hex()})")
        linktype = struct.unpack(endian + "I", head[20:24])[0]
        if linktype != 1:
            sys.exit(f"{src}: link type {linktype}, want 1 (Ethernet)")
        rec = struct.Struct(endian + "IIII")
        out.write(head[:16] + struct.pack(endian + "II", 262144, 1))
        wrapped = skipped = 0
        ident = 0
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                break
            sec, frac, incl, orig = rec.unpack(rh)
            frame = f.read(incl)
            if len(frame) < incl:
                break
            if incl > MAX_INNER:
                skipped += 1
                continue
            sport = 49152 + (zlib.crc32(frame[26:38]) & 0x3FFF) if len(frame) >= 38 else 49152
            udp_len = 8 + 8 + incl
            ident = (ident + 1) & 0xFFFF
            iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ident, 0x4000, 64, 17, 0, SRC_IP, DST_IP)
            iph = iph[:10] + struct.pack("!H", ip_checksum(iph)) + iph[12:]
            udph = struct.pack("!HHHH", sport, 4789, udp_len, 0)
            out.write(rec.pack(sec, frac, incl + OVERHEAD, orig + OVERHEAD))
            out.write(OUTER_ETH)
            out.write(iph)
            out.write(udph)
            out.write(VXLAN)
            out.write(frame)
            wrapped += 1
    print(f"vxlan-wrap: {wrapped} frames wrapped, {skipped} too big for one IPv4 packet skipped", file=sys.stderr)


if __name__ == "__main__":
    main()
