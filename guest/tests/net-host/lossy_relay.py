#!/usr/bin/env python3
"""A user-space network emulator for kernels without netem: relays Ethernet frames between two
interfaces (AF_PACKET, both directions), dropping LOSS percent and holding back REORDER percent
until the next frame has gone (so they arrive out of order).
Usage: lossy_relay.py IF_A IF_B LOSS_PCT REORDER_PCT. Runs until killed; prints its counts on SIGTERM."""
import random, select, signal, socket, sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
if_a, if_b, loss, reorder = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
socks = {}
for name in (if_a, if_b):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    socks[name] = s
other = {if_a: socks[if_b], if_b: socks[if_a]}
held = {if_a: None, if_b: None}
counts = {"relayed": 0, "dropped": 0, "reordered": 0}


def done(*_):
    print("relay: %(relayed)d relayed, %(dropped)d dropped, %(reordered)d reordered" % counts, flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, done)
print("relay: ready", flush=True)
by_fd = {s.fileno(): name for name, s in socks.items()}
while True:
    ready, _, _ = select.select(list(socks.values()), [], [], 0.005)
    if not ready:
        for name in held:                      # nothing more came: let a held frame go
            if held[name] is not None:
                other[name].send(held[name])
                held[name] = None
        continue
    for s in ready:
        name = by_fd[s.fileno()]
        frame, addr = s.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            continue
        if random.random() * 100 < loss:
            counts["dropped"] += 1
            continue
        if held[name] is None and random.random() * 100 < reorder:
            held[name] = frame
            counts["reordered"] += 1
            continue
        other[name].send(frame)
        counts["relayed"] += 1
        if held[name] is not None:
            other[name].send(held[name])
            held[name] = None
