#!/usr/bin/env python3
"""The host side of the netcheck echo test: sends Ethernet frames of many sizes into a tap
interface with an AF_PACKET socket and checks that each comes back from the guest byte-exact,
with the MAC addresses swapped. Usage: peer.py IFACE GUEST_MAC COUNT. Prints 'N passed, 0 failed'."""
import os
import socket
import struct
import sys
import time

iface, guest_mac, count = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), int(sys.argv[3])
ours = bytes.fromhex("020000000001")
ETHERTYPE = 0x88B5  # IEEE local experimental
PACKET_OUTGOING = 4

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
s.bind((iface, 0))
s.settimeout(5.0)

passed = failed = 0
for i in range(count):
    size = 60 + (i * 97) % (1514 - 60 + 1)
    payload = struct.pack("!I", i) + os.urandom(size - 14 - 4)
    frame = guest_mac + ours + struct.pack("!H", ETHERTYPE) + payload
    s.send(frame)
    deadline = time.time() + 5
    while True:
        if time.time() > deadline:
            print(f"frame {i} ({size} bytes): no echo", file=sys.stderr)
            failed += 1
            break
        data, addr = s.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            continue
        if data[12:14] != struct.pack("!H", ETHERTYPE) or data[14:18] != struct.pack("!I", i):
            continue
        if data[0:6] == ours and data[6:12] == guest_mac and data[14:] == payload:
            passed += 1
        else:
            print(f"frame {i}: echo differs", file=sys.stderr)
            failed += 1
        break
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
