using Skiff;
using Skiff.Engine;
using Skiff.Samples.DnsServer.Dns;
using Skiff.Stack.Udp;

namespace Skiff.Samples.DnsServer.Server;

/// <summary>
/// Serves DNS over UDP on an engine's loop, as a stage (docs/architecture.md: "something that serves on the loop"):
/// after the stack has taken the iteration's frames in, each datagram waiting on the stack's UDP socket is answered in
/// its own packet buffer (zero-copy receive, the response written over the query, zero-copy send), and the stack puts
/// the UDP, IPv4 and Ethernet headers on at its next egress. Skiff's stack does the rest as for any UDP socket:
/// checksums checked and made, ARP, ICMP errors. No allocation per datagram.
/// </summary>
public sealed class DnsUdpStage : IEngineStage
{
    private readonly UdpSocket _socket;
    private readonly DnsAnswerer _answerer;

    /// <summary>A stage answering what arrives on <paramref name="socket"/> (bound on the loop that runs the stage) with <paramref name="answerer"/>.</summary>
    public DnsUdpStage(UdpSocket socket, DnsAnswerer answerer)
    {
        _socket = socket;
        _answerer = answerer;
    }

    /// <summary>The answerer, with its counters.</summary>
    public DnsAnswerer Answerer => _answerer;

    /// <inheritdoc />
    public bool Run(Instant now)
    {
        bool any = false;
        while (_socket.CanSend && _socket.TryReceive(out PacketBuffer? datagram, out UdpEndpoint peer))
        {
            any = true;
            int queryLength = datagram.Length;
            if (peer.Port == 0 || peer.Ip.IsUnspecified)
            {
                _answerer.Counters.Queries++;
                _answerer.Counters.Drop(DnsDropReason.BadSource);
                datagram.Free();
                continue;
            }
            // The answer is written over the query in the same frame: open the data window to the frame's end.
            datagram.TrySetLength(datagram.FrameBytes - datagram.DataOffset);
            int length = _answerer.Answer(datagram.Data, queryLength, DnsTransport.Udp);
            if (length == 0 || !datagram.TrySetLength(length))
            {
                datagram.Free();
                continue;
            }
            if (!_socket.TrySend(datagram, peer))
            {
                _answerer.Counters.Drop(DnsDropReason.SendRefused);
                datagram.Free();
            }
        }
        return any;
    }

    /// <inheritdoc />
    public Instant PollAt(Instant now) => _socket.CanReceive && _socket.CanSend ? now : Instant.Never;
}
