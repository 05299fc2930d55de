#!/usr/bin/env python3
"""Peer-side checks for stackd (run inside the test namespace).
Each subcommand prints a line and exits 0 on success, 1 on failure."""
import os, random, socket, struct, sys, threading, time, zlib

STACK = os.environ.get("STACK_IP", "10.77.0.2")  # the stack under test: stackd, or a Kiln guest


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def udp_echo():
    # Over the lossy link a datagram or its echo is lost ~10% of the time, and an echo may
    # arrive after the client has already resent: retry up to 8 times (all 8 lost: ~1e-8)
    # and skip echoes of earlier datagrams, but any other reply is a real mismatch.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    sent = set()
    for i in range(20):
        msg = os.urandom(random.randint(0, 1400))
        data, addr = None, None
        for attempt in range(8):
            s.sendto(msg, (STACK, 7))
            try:
                while True:
                    data, addr = s.recvfrom(2048)
                    if data != msg and data in sent:
                        continue  # a late echo of an earlier datagram
                    break
                break
            except socket.timeout:
                continue
        else:
            fail("udp echo timeout after 8 attempts")
        if data != msg or addr != (STACK, 7):
            fail("udp echo mismatch")
        sent.add(msg)
    print("udp echo ok (20 datagrams)")


def tcp_echo(size, timeout=60, rcvbuf=None, pause=0.0):
    data = os.urandom(size)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((STACK, 7))
    err = []

    def sender():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except Exception as e:  # noqa
            err.append(e)

    t = threading.Thread(target=sender)
    t0 = time.time()
    t.start()
    if pause:
        time.sleep(pause)
    got = bytearray()
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    t.join()
    s.close()
    dt = time.time() - t0
    if err:
        fail("send error %r" % err)
    if bytes(got) != data:
        fail("echo mismatch: sent %d got %d" % (len(data), len(got)))
    print("tcp echo ok: %d bytes byte-exact in %.2fs (%.1f MB/s)" % (size, dt, size / dt / 1e6))


def tcp_pingpong(rounds):
    # One request, one echo, `rounds` times on one connection: the request/response pattern in
    # which a delayed ACK rides on the reply (run.sh counts the stack's frames around it).
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(10)
    s.connect((STACK, 7))
    for i in range(rounds):
        msg = os.urandom(64)
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(len(msg) - len(got))
            if not chunk:
                fail("connection closed after %d rounds" % i)
            got += chunk
        if got != msg:
            fail("echo mismatch in round %d" % i)
    s.close()
    time.sleep(0.2)  # the close's own segments, counted in the same window
    print("tcp ping-pong ok (%d rounds)" % rounds)


def tcp_discard(size):
    data = os.urandom(size)
    s = socket.create_connection((STACK, 9), timeout=60)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        c = s.recv(4096)
        if not c:
            break
        got += c
    s.close()
    want = "%d %08x\n" % (len(data), zlib.crc32(data))
    if got.decode() != want:
        fail("discard reply %r want %r" % (got, want))
    print("tcp discard ok:", want.strip())


def tcp_many(n):
    for i in range(n):
        msg = ("conn %d " % i).encode() * random.randint(1, 50)
        s = socket.create_connection((STACK, 7), timeout=20)
        s.sendall(msg)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            c = s.recv(4096)
            if not c:
                break
            got += c
        s.close()
        if got != msg:
            fail("conn %d mismatch" % i)
    print("tcp %d sequential connections ok" % n)


def tcp_echo_parallel(n, size):
    # n connections to the echo port at once, each sending size random bytes and reading them
    # back byte-exact: the guest's frames for all of them interleave in one device.
    errs = []

    def one(i):
        try:
            data = os.urandom(size)
            s = socket.create_connection((STACK, 7), timeout=60)
            sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
            sender.start()
            got = bytearray()
            while True:
                c = s.recv(1 << 16)
                if not c:
                    break
                got += c
            sender.join()
            s.close()
            if bytes(got) != data:
                at = next((k for k in range(min(len(got), len(data))) if got[k] != data[k]), min(len(got), len(data)))
                errs.append("conn %d: sent %d bytes, got %d, first difference at byte %d" % (i, len(data), len(got), at))
        except Exception as e:  # noqa
            errs.append("conn %d: %r" % (i, e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        fail("; ".join(errs[:3]))
    print("tcp %d parallel echoes x %d bytes byte-exact" % (n, size))


def tcp_parallel(n, size):
    errs = []

    def one(i):
        try:
            data = os.urandom(size)
            s = socket.create_connection((STACK, 9), timeout=30)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                c = s.recv(4096)
                if not c:
                    break
                got += c
            s.close()
            if got.decode() != "%d %08x\n" % (len(data), zlib.crc32(data)):
                errs.append("conn %d bad reply %r" % (i, got))
        except Exception as e:  # noqa
            errs.append("conn %d: %r" % (i, e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        fail("; ".join(errs[:3]))
    print("tcp %d parallel connections x %d bytes ok" % (n, size))


def active_open():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("10.77.0.1", 5000))
    ls.listen(1)
    ls.settimeout(5)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    u.sendto(b"connect 5000", (STACK, 8))
    r, _ = u.recvfrom(100)
    if r != b"ok":
        fail("control reply %r" % r)
    c, addr = ls.accept()
    c.settimeout(5)
    got = b""
    while True:
        x = c.recv(100)
        if not x:
            break
        got += x
    c.close()
    if got != b"hello from kiln\n" or addr[0] != STACK:
        fail("active open got %r from %r" % (got, addr))
    print("tcp active open ok from port", addr[1])


# ---- raw frames -------------------------------------------------------------

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip4(a):
    return socket.inet_aton(a)


def iphdr(src, dst, proto, plen, ihl=5, tot=None, frag=0, good=True, ver=4):
    tot = 20 + plen if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, tot & 0xffff, 1, frag, 64, proto, 0,
                    ip4(src), ip4(dst))
    c = csum(h)
    if not good:
        c ^= 0x1234
    return h[:10] + struct.pack("!H", c) + h[12:]


def tcp_seg(src, dst, sport, dport, seq, ack, flags, payload=b"", opts=b"", good=True, doff=None):
    doff = (20 + len(opts)) // 4 if doff is None else doff
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 8192, 0, 0) + opts
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(h) + len(payload))
    c = csum(pseudo + h + payload)
    if not good:
        c ^= 0x4321
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def raw_socket(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    return s


def mac_of(ifname):
    return bytes.fromhex(open("/sys/class/net/%s/address" % ifname).read().strip().replace(":", ""))


STACK_MAC = bytes.fromhex("020000770002")


def malformed(ifname):
    s = raw_socket(ifname)
    me = mac_of(ifname)
    eth = STACK_MAC + me
    P = "10.77.0.1"
    frames = []
    frames.append(b"\x01\x02\x03")                                  # runt
    frames.append(eth)                                              # no type
    frames.append(eth + b"\x08\x06" + b"\x00\x01\x08\x00\x06")      # short ARP
    frames.append(eth + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 9) + b"\0" * 20)
    frames.append(eth + b"\x08\x00" + b"\x45\x00")                  # short IP
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8, ihl=3))  # ihl < 5
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8, ihl=15))  # ihl past end
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8, tot=4000) + b"\x08\0\0\0\0\0\0\0")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8, tot=10) + b"\x08\0\0\0\0\0\0\0")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8, good=False) + b"\x08\0\xf7\xff\0\0\0\0")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8, ver=6) + b"\x08\0\xf7\xff\0\0\0\0")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8, frag=0x2000) + b"\x08\0\xf7\xff\0\0\0\0")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8, frag=0x0010) + b"\x08\0\xf7\xff\0\0\0\0")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 4) + b"\x08\0\0\0")          # short ICMP
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 1, 8) + b"\x08\0\x12\x34\0\0\0\0")  # bad csum
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 17, 4) + b"\0\7\0\7")          # short UDP
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 17, 8) + struct.pack("!HHHH", 7, 7, 900, 0))
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 17, 8) + struct.pack("!HHHH", 7, 7, 3, 0))
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 17, 12) + struct.pack("!HHHH", 7, 7, 12, 0x1111) + b"abcd")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 6, 10) + b"\0" * 10)          # short TCP
    t = tcp_seg(P, STACK, 1234, 7, 1, 0, 0x02, doff=15)
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 6, len(t)) + t)                # doff past end
    t = tcp_seg(P, STACK, 1234, 7, 1, 0, 0x02, doff=2)
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 6, len(t)) + t)                # doff < 5
    t = tcp_seg(P, STACK, 1234, 7, 1, 0, 0x02, good=False)
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 6, len(t)) + t)                # bad csum
    t = tcp_seg(P, STACK, 1234, 7, 1, 0, 0x02, opts=b"\x02\x09\x05\xb4")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 6, len(t)) + t)                # opt len past end
    t = tcp_seg(P, STACK, 1234, 7, 1, 0, 0x02, opts=b"\x02\x00\x05\xb4")
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 6, len(t)) + t)                # opt len 0
    t = tcp_seg(P, STACK, 1234, 7, 1, 0, 0x03)
    frames.append(eth + b"\x08\x00" + iphdr(P, STACK, 6, len(t)) + t)                # SYN+FIN
    rnd = random.Random(7)
    for i in range(2000):                                                             # fuzz
        base = bytearray(rnd.choice(frames[4:]))
        for k in range(rnd.randint(1, 6)):
            if len(base) > 14:
                base[rnd.randrange(14, len(base))] = rnd.randrange(256)
        if rnd.random() < 0.3:
            base = base[:rnd.randint(14, len(base))]
        frames.append(bytes(base))
    for i in range(500):
        frames.append(eth + bytes([8, rnd.choice([0, 6])]) + os.urandom(rnd.randint(0, 200)))
    n = 0
    for f in frames:
        try:
            s.send(f)
            n += 1
        except OSError:
            pass
        if n % 200 == 0:
            time.sleep(0.01)
    print("sent %d malformed frames" % n)


def synflood(ifname, count):
    s = raw_socket(ifname)
    me = mac_of(ifname)
    eth = STACK_MAC + me + b"\x08\x00"
    src = "10.77.0.1"   # our own address so SYN-ACKs come back and the kernel RSTs some
    rnd = random.Random(3)
    for i in range(count):
        sp = 20000 + i
        # MSS option
        t = tcp_seg("10.77.0.99", STACK, sp, 7, rnd.getrandbits(32), 0, 0x02, opts=b"\x02\x04\x05\xb4")
        s.send(eth + iphdr("10.77.0.99", STACK, 6, len(t)) + t)
        if i % 100 == 99:
            time.sleep(0.005)
    print("sent %d spoofed SYNs" % count)


if __name__ == "__main__":
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "udp_echo":
        udp_echo()
    elif cmd == "tcp_echo":
        tcp_echo(int(a[0]), timeout=float(a[1]) if len(a) > 1 else 60)
    elif cmd == "tcp_zero_window":
        tcp_echo(int(a[0]), rcvbuf=2048, pause=1.5)
    elif cmd == "tcp_pingpong":
        tcp_pingpong(int(a[0]))
    elif cmd == "tcp_discard":
        tcp_discard(int(a[0]))
    elif cmd == "tcp_many":
        tcp_many(int(a[0]))
    elif cmd == "tcp_echo_parallel":
        tcp_echo_parallel(int(a[0]), int(a[1]))
    elif cmd == "tcp_parallel":
        tcp_parallel(int(a[0]), int(a[1]))
    elif cmd == "active_open":
        active_open()
    elif cmd == "malformed":
        malformed(a[0])
    elif cmd == "synflood":
        synflood(a[0], int(a[1]))
    else:
        fail("unknown command " + cmd)
