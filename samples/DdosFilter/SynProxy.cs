using System.Buffers.Binary;
using System.Security.Cryptography;
using Skiff;
using Skiff.Hooks;

namespace DdosFilter;

/// <summary>
/// A SYN proxy for protected TCP ports (as nftables' <c>synproxy</c>): the wire's SYNs are answered by Skiff with a
/// SYN-cookie SYN-ACK, and only a client whose final ACK carries a valid cookie gets a connection to the host, opened by
/// Skiff with the client's own initial sequence number. From then on the flow's sequence numbers are translated between
/// the cookie's and the host's, in a bounded flow table. A SYN flood, spoofed or not, never reaches the host's kernel.
/// </summary>
/// <remarks>
/// <para>The handshake (C client, P this proxy, H host):
/// C→P SYN(isn) ⇒ P→C SYN-ACK(seq = cookie, ack = isn+1, window 0, MSS);
/// C→P ACK(ack = cookie+1) verified ⇒ P→H SYN(seq = isn, MSS from the cookie), the flow recorded;
/// H→P SYN-ACK(seq = S) ⇒ P→H ACK(ack = S+1), and P→C an ACK opening the window (the host's) so the client starts sending.
/// Then client→host acknowledgments get + (S − cookie) and host→client sequence numbers − (S − cookie).</para>
/// <para>The window is 0 in the cookie SYN-ACK (as Linux's synproxy does) so that the client sends no data before the host's
/// connection exists. Options not carried: window scaling, SACK and timestamps (the cookie has 3 bits for the MSS only),
/// so proxied connections have windows of at most 64 KiB.</para>
/// <para>One instance per engine loop, used by one <see cref="SynProxyHook"/> on the RX chain (both ports) and a
/// <see cref="SynProxyStage"/> that sends the window updates. Sans-I/O: time is the hook's <c>Now</c>; no allocation per
/// frame.</para>
/// </remarks>
public sealed class SynProxy
{
    /// <summary>Flow table entries per set.</summary>
    public const int Ways = 4;

    private const byte Free = 0;
    private const byte SynSent = 1;
    private const byte Established = 2;
    private const byte Closing = 3;

    private readonly ulong[] _protected = new ulong[1024];
    private readonly Flow[] _flows;
    private readonly int _setMask;
    private readonly ulong _seed;
    private readonly TcpFrameFields[] _pending;
    private int _pendingHead;
    private int _pendingCount;

    /// <param name="ports">The protected TCP ports (the host's services behind the proxy).</param>
    /// <param name="flows">Flow table entries (rounded up to a power of two).</param>
    /// <param name="mss">The MSS announced to clients in the cookie SYN-ACK.</param>
    /// <param name="cookies">The cookie key; null for a random one.</param>
    /// <param name="wirePort">The engine port facing the clients.</param>
    /// <param name="hostPort">The engine port facing the host.</param>
    public SynProxy(IEnumerable<ushort> ports, int flows = 65536, ushort mss = 1460, SynCookies? cookies = null, ushort wirePort = 0, ushort hostPort = 1)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentOutOfRangeException.ThrowIfLessThan(flows, Ways);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(flows, 1 << 24);
        foreach (ushort p in ports)
        {
            _protected[p >> 6] |= 1UL << (p & 63);
            ProtectedPorts.Add(p);
        }
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)flows);
        _flows = new Flow[size];
        _setMask = size / Ways - 1;
        _seed = ((ulong)(uint)RandomNumberGenerator.GetInt32(int.MaxValue) << 32) | (uint)RandomNumberGenerator.GetInt32(int.MaxValue) | 1;
        _pending = new TcpFrameFields[256];
        Mss = mss;
        Cookies = cookies ?? new SynCookies();
        WirePort = wirePort;
        HostPort = hostPort;
    }

    public List<ushort> ProtectedPorts { get; } = [];
    public ushort Mss { get; }
    public SynCookies Cookies { get; }
    public ushort WirePort { get; }
    public ushort HostPort { get; }

    /// <summary>Flow table entries (the bound).</summary>
    public int FlowCapacity => _flows.Length;

    /// <summary>Flows in the table now.</summary>
    public long Flows { get; private set; }

    /// <summary>Cookie SYN-ACKs sent for SYNs.</summary>
    public long CookiesSent { get; private set; }

    /// <summary>Final ACKs with a valid cookie: connections opened to the host.</summary>
    public long CookiesAccepted { get; private set; }

    /// <summary>ACKs to a protected port with no flow and no valid cookie (dropped).</summary>
    public long CookiesRejected { get; private set; }

    /// <summary>Other segments to a protected port with no flow (RST, FIN, data; dropped).</summary>
    public long NoFlow { get; private set; }

    /// <summary>Client segments while the host's handshake was still under way (dropped; the client retransmits).</summary>
    public long Early { get; private set; }

    /// <summary>Host SYN-ACKs turned into the handshake's ACK: connections the host accepted.</summary>
    public long Handshakes { get; private set; }

    /// <summary>Live flows that had to give their entry to a new one (their connections break).</summary>
    public long FlowsEvicted { get; private set; }

    /// <summary>Window updates sent to clients.</summary>
    public long WindowUpdates { get; private set; }

    /// <summary>Window updates not sent (queue or pool full; the client's zero-window probe recovers).</summary>
    public long WindowUpdatesLost { get; private set; }

    /// <summary>Whether <paramref name="port"/> is protected.</summary>
    public bool IsProtected(ushort port) => (_protected[port >> 6] & (1UL << (port & 63))) != 0;

    /// <summary>The SYN proxy's verdict for a classified frame received on <see cref="HookContext.Port"/>; may rewrite it.</summary>
    public HookVerdict Process(PacketBuffer frame, ref HookContext context)
    {
        PacketClass c = frame.Classification;
        if ((c & (PacketClass.Ipv4 | PacketClass.Tcp)) != (PacketClass.Ipv4 | PacketClass.Tcp) || (c & (PacketClass.Fragment | PacketClass.Malformed | PacketClass.Vlan)) != 0)
        {
            return HookVerdict.Pass;
        }
        Span<byte> data = frame.Data;
        int l3 = frame.L3Offset;
        int l4 = frame.L4Offset;
        if (l3 != TcpFrame.EthernetBytes || l4 + 20 > data.Length)
        {
            return HookVerdict.Pass;
        }
        Span<byte> tcp = data[l4..];
        if (context.Port == WirePort)
        {
            return IsProtected(BinaryPrimitives.ReadUInt16BigEndian(tcp[2..])) ? FromClient(frame, data, tcp, context.Now.TotalMicros) : HookVerdict.Pass;
        }
        if (context.Port == HostPort)
        {
            return IsProtected(BinaryPrimitives.ReadUInt16BigEndian(tcp)) ? FromHost(frame, data, tcp, context.Now.TotalMicros) : HookVerdict.Pass;
        }
        return HookVerdict.Pass;
    }

    /// <summary>The next window update for a client, if any (the stage sends them).</summary>
    public bool TryDequeueWindowUpdate(out TcpFrameFields fields)
    {
        if (_pendingCount == 0)
        {
            fields = default;
            return false;
        }
        fields = _pending[_pendingHead];
        _pendingHead = (_pendingHead + 1) & (_pending.Length - 1);
        _pendingCount--;
        return true;
    }

    /// <summary>Window updates waiting for the stage.</summary>
    public int PendingWindowUpdates => _pendingCount;

    /// <summary>Counts window updates the stage sent or could not send.</summary>
    public void CountWindowUpdate(bool sent)
    {
        if (sent)
        {
            WindowUpdates++;
        }
        else
        {
            WindowUpdatesLost++;
        }
    }

    private HookVerdict FromClient(PacketBuffer frame, Span<byte> data, Span<byte> tcp, long now)
    {
        int header = (tcp[12] >> 4) * 4;
        if (header < 20 || header > tcp.Length)
        {
            NoFlow++;
            return HookVerdict.Drop;
        }
        byte flags = tcp[13];
        uint client = BinaryPrimitives.ReadUInt32BigEndian(data[26..]);
        uint server = BinaryPrimitives.ReadUInt32BigEndian(data[30..]);
        ushort clientPort = BinaryPrimitives.ReadUInt16BigEndian(tcp);
        ushort serverPort = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]);
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        uint ack = BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]);
        ref Flow flow = ref Find(client, server, clientPort, serverPort, now, out bool found);

        if ((flags & (TcpFrame.Syn | TcpFrame.Ack | TcpFrame.Rst | TcpFrame.Fin)) == TcpFrame.Syn)
        {
            if (found && flow.State == Closing)
            {
                Release(ref flow); // the four-tuple is reused: the old flow's translation must not apply to the new one
            }
            ushort mss = TcpFrame.ReadMss(tcp, header);
            uint cookie = Cookies.Encode(client, server, clientPort, serverPort, seq, mss == 0 ? 536 : mss, now);
            (ulong dstMac, ulong srcMac) = TcpFrame.ReadMacs(data);
            TcpFrameFields synAck = new()
            {
                SourceMac = dstMac, DestinationMac = srcMac, Source = server, Destination = client,
                SourcePort = serverPort, DestinationPort = clientPort, Sequence = cookie, Acknowledgment = seq + 1,
                Flags = TcpFrame.Syn | TcpFrame.Ack, Window = 0, Mss = Mss,
            };
            if (!Rewrite(frame, in synAck))
            {
                return HookVerdict.Drop;
            }
            CookiesSent++;
            return HookVerdict.Tx;
        }

        if (found)
        {
            flow.LastMicros = now;
            if (flow.State == SynSent)
            {
                if ((flags & TcpFrame.Rst) != 0)
                {
                    Release(ref flow);
                    return HookVerdict.Pass; // the host's half-open connection learns it at once (its sequence is the client's)
                }
                Early++;
                return HookVerdict.Drop;
            }
            if ((flags & TcpFrame.Ack) != 0)
            {
                TcpFrame.Rewrite32(tcp, 8, ack + flow.Delta);
            }
            if ((flags & TcpFrame.Rst) != 0)
            {
                Release(ref flow);
            }
            else if ((flags & TcpFrame.Fin) != 0)
            {
                flow.State = Closing;
            }
            return HookVerdict.Pass;
        }

        if ((flags & (TcpFrame.Syn | TcpFrame.Ack | TcpFrame.Rst)) == TcpFrame.Ack)
        {
            uint isn = seq - 1;
            int mss = Cookies.Verify(ack - 1, client, server, clientPort, serverPort, isn, now);
            if (mss == 0)
            {
                // A zero-window probe (seq = snd_una - 1 = the ISN): the client's final ACK was lost, and it waits for the
                // window our SYN-ACK closed. Its probe carries the cookie too, so the connection opens from it.
                isn = seq;
                mss = Cookies.Verify(ack - 1, client, server, clientPort, serverPort, isn, now);
            }
            if (mss == 0)
            {
                CookiesRejected++;
                return HookVerdict.Drop;
            }
            // flow is the entry Find chose for it (free or the least worth keeping).
            if (flow.State is SynSent or Established)
            {
                FlowsEvicted++;
            }
            if (flow.State == Free)
            {
                Flows++;
            }
            flow.Client = client;
            flow.Server = server;
            flow.Ports = ((uint)clientPort << 16) | serverPort;
            flow.ClientIsn = isn;
            flow.CookieIsn = ack - 1;
            flow.Delta = 0;
            flow.ClientWindow = BinaryPrimitives.ReadUInt16BigEndian(tcp[14..]);
            flow.LastMicros = now;
            flow.State = SynSent;
            (ulong Destination, ulong Source) macs = TcpFrame.ReadMacs(data);
            TcpFrameFields syn = new()
            {
                SourceMac = macs.Source, DestinationMac = macs.Destination, Source = client, Destination = server,
                SourcePort = clientPort, DestinationPort = serverPort, Sequence = isn, Acknowledgment = 0,
                Flags = TcpFrame.Syn, Window = flow.ClientWindow, Mss = (ushort)mss,
            };
            if (!Rewrite(frame, in syn))
            {
                Release(ref flow);
                return HookVerdict.Drop;
            }
            CookiesAccepted++;
            return HookVerdict.Redirect;
        }
        NoFlow++;
        return HookVerdict.Drop;
    }

    private HookVerdict FromHost(PacketBuffer frame, Span<byte> data, Span<byte> tcp, long now)
    {
        uint server = BinaryPrimitives.ReadUInt32BigEndian(data[26..]);
        uint client = BinaryPrimitives.ReadUInt32BigEndian(data[30..]);
        ushort serverPort = BinaryPrimitives.ReadUInt16BigEndian(tcp);
        ushort clientPort = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]);
        ref Flow flow = ref Find(client, server, clientPort, serverPort, now, out bool found);
        if (!found)
        {
            return HookVerdict.Pass; // not ours (say, a connection the host opened, or a reset for a stale one)
        }
        flow.LastMicros = now;
        byte flags = tcp[13];
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        if ((flags & (TcpFrame.Syn | TcpFrame.Ack | TcpFrame.Rst)) == (TcpFrame.Syn | TcpFrame.Ack))
        {
            (ulong dstMac, ulong srcMac) = TcpFrame.ReadMacs(data);
            if (flow.State == SynSent)
            {
                flow.Delta = seq - flow.CookieIsn;
                flow.State = Established;
                Handshakes++;
                QueueWindowUpdate(new TcpFrameFields
                {
                    SourceMac = srcMac, DestinationMac = dstMac, Source = server, Destination = client,
                    SourcePort = serverPort, DestinationPort = clientPort, Sequence = flow.CookieIsn + 1, Acknowledgment = flow.ClientIsn + 1,
                    Flags = TcpFrame.Ack, Window = BinaryPrimitives.ReadUInt16BigEndian(tcp[14..]),
                });
            }
            // The handshake's ACK to the host (again, if the host resent its SYN-ACK), in place of its SYN-ACK.
            TcpFrameFields ackToHost = new()
            {
                SourceMac = dstMac, DestinationMac = srcMac, Source = client, Destination = server,
                SourcePort = clientPort, DestinationPort = serverPort, Sequence = flow.ClientIsn + 1, Acknowledgment = seq + 1,
                Flags = TcpFrame.Ack, Window = flow.ClientWindow,
            };
            return Rewrite(frame, in ackToHost) ? HookVerdict.Tx : HookVerdict.Drop;
        }
        if (flow.State == SynSent)
        {
            if ((flags & TcpFrame.Rst) != 0)
            {
                // The host refused (no listener): the client, which believes it is connected, gets the reset in its own sequence space.
                TcpFrame.Rewrite32(tcp, 4, flow.CookieIsn + 1);
                Release(ref flow);
                return HookVerdict.Pass;
            }
            return HookVerdict.Drop;
        }
        TcpFrame.Rewrite32(tcp, 4, seq - flow.Delta);
        if ((flags & TcpFrame.Rst) != 0)
        {
            Release(ref flow);
        }
        else if ((flags & TcpFrame.Fin) != 0)
        {
            flow.State = Closing;
        }
        return HookVerdict.Pass;
    }

    private void QueueWindowUpdate(in TcpFrameFields fields)
    {
        if (_pendingCount == _pending.Length)
        {
            WindowUpdatesLost++;
            return;
        }
        _pending[(_pendingHead + _pendingCount) & (_pending.Length - 1)] = fields;
        _pendingCount++;
    }

    /// <summary>Writes a new frame over <paramref name="frame"/> (its length set to fit); false when the buffer is too small.</summary>
    private static bool Rewrite(PacketBuffer frame, in TcpFrameFields fields)
    {
        int length = TcpFrame.LengthOf(in fields);
        if (length > frame.Length + frame.TailroomBytes)
        {
            return false;
        }
        // Grow first (the new frame may be longer than the old one), then write: Write reads nothing from the frame.
        if (!frame.TrySetLength(length))
        {
            return false;
        }
        TcpFrame.Write(frame.Data, in fields);
        frame.Checksum = ChecksumState.None;
        return true;
    }

    private void Release(ref Flow flow)
    {
        if (flow.State != Free)
        {
            Flows--;
        }
        flow.State = Free;
    }

    /// <summary>
    /// The flow of the four-tuple (found), or else the entry a new flow would take in its set: a free one, else an expired
    /// one (a half-open flow after 5 s, a closing one after 30 s, any after 300 s idle), else the least recently used.
    /// </summary>
    private ref Flow Find(uint client, uint server, ushort clientPort, ushort serverPort, long now, out bool found)
    {
        uint ports = ((uint)clientPort << 16) | serverPort;
        ulong key = ((ulong)client << 32) ^ server ^ ((ulong)ports * 0x9E37_79B9_7F4A_7C15UL);
        int set = (int)(((key * _seed) >> 32) & (uint)_setMask);
        int first = set * Ways;
        int victim = first;
        long victimScore = long.MaxValue;
        for (int w = 0; w < Ways; w++)
        {
            ref Flow f = ref _flows[first + w];
            if (f.State != Free && f.Client == client && f.Server == server && f.Ports == ports)
            {
                found = true;
                return ref f;
            }
        }
        for (int w = 0; w < Ways; w++)
        {
            ref Flow f = ref _flows[first + w];
            long score = f.State switch
            {
                Free => long.MinValue,
                SynSent when now - f.LastMicros > 5_000_000 => long.MinValue + 1,
                Closing when now - f.LastMicros > 30_000_000 => long.MinValue + 1,
                _ when now - f.LastMicros > 300_000_000 => long.MinValue + 1,
                _ => f.LastMicros,
            };
            if (score < victimScore)
            {
                victimScore = score;
                victim = first + w;
            }
        }
        found = false;
        return ref _flows[victim];
    }

    private struct Flow
    {
        public uint Client;
        public uint Server;
        public uint Ports;
        public uint ClientIsn;
        public uint CookieIsn;
        public uint Delta;
        public long LastMicros;
        public ushort ClientWindow;
        public byte State;
    }
}

/// <summary>The RX hook that runs a <see cref="SynProxy"/> on both ports of the filter's engine loop.</summary>
public readonly struct SynProxyHook(SynProxy proxy) : IPacketHook
{
    /// <inheritdoc />
    public HookVerdict Process(PacketBuffer frame, ref HookContext context)
    {
        HookVerdict verdict = proxy.Process(frame, ref context);
        return verdict == HookVerdict.Redirect ? context.RedirectToPort(proxy.HostPort) : verdict;
    }
}
