namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// The kernel-side peers of the driver suite, as python3 programs (sockets of the kernel's own stack). Each exits 0
/// only when everything it checks held, and prints what it saw.
/// </summary>
public static class PeerPrograms
{
    /// <summary>argv: host port count. Sends <c>count</c> seeded datagrams (1 to 3000 bytes: the large ones are fragmented) one at a time and checks each echo.</summary>
    public const string UdpClient = """
        import random, socket, sys
        host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        rnd = random.Random(7)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3.0)
        for i in range(count):
            size = rnd.choice([4, 64, 512, 1472, 3000])
            msg = i.to_bytes(4, 'big') + rnd.randbytes(size - 4)
            s.sendto(msg, (host, port))
            try:
                back, peer = s.recvfrom(65536)
            except socket.timeout:
                print(f'no echo for datagram {i} ({size} bytes)'); sys.exit(1)
            if back != msg or peer != (host, port):
                print(f'datagram {i}: sent {size} bytes, got {len(back)} bytes from {peer}'); sys.exit(1)
        print(f'{count} datagrams echoed')
        """;

    /// <summary>argv: host port count. Prints "ready", then echoes <c>count</c> datagrams (giving up after 30 s of silence).</summary>
    public const string UdpEchoServer = """
        import socket, sys
        host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, port))
        s.settimeout(30.0)
        print('ready', flush=True)
        for i in range(count):
            data, peer = s.recvfrom(65536)
            s.sendto(data, peer)
        print(f'{count} datagrams echoed', flush=True)
        """;

    /// <summary>
    /// argv: host port bytes. Sends <c>bytes</c> seeded bytes (from a thread) while reading the echo, then half-closes;
    /// prints "sentSha256 receivedSha256 receivedBytes" and exits 0 if the echo matches. It gives up after 30 s without
    /// progress either way (a stalled sender thread also ends the reads: they then see no FIN).
    /// </summary>
    public const string TcpStreamClient = """
        import hashlib, random, socket, sys, threading
        host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        data = random.Random(1).randbytes(total)
        sent = hashlib.sha256(data).hexdigest()
        s = socket.create_connection((host, port), timeout=30)
        def send():
            # Not sendall: with a timeout set, Python bounds sendall's whole duration by it (30 s for all the data),
            # not each wait; send() waits at most 30 s for room each time.
            view = memoryview(data)
            while view:
                view = view[s.send(view[:1 << 20]):]
            s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send)
        t.start()
        h = hashlib.sha256()
        n = 0
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            h.update(b)
            n += len(b)
        t.join()
        s.close()
        print(sent, h.hexdigest(), n, flush=True)
        sys.exit(0 if n == total and h.hexdigest() == sent else 1)
        """;

    /// <summary>argv: host port. Prints "ready", accepts one connection, echoes it until EOF, half-closes, prints the byte count.</summary>
    public const string TcpEchoServer = """
        import socket, sys
        host, port = sys.argv[1], int(sys.argv[2])
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
        srv.listen(1)
        srv.settimeout(30)
        print('ready', flush=True)
        c, _ = srv.accept()
        c.settimeout(30)
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            c.sendall(b)
            n += len(b)
        c.shutdown(socket.SHUT_WR)
        c.close()
        print(n, flush=True)
        """;
}
