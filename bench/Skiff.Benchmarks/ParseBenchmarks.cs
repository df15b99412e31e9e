using BenchmarkDotNet.Attributes;
using Skiff.Wire;

namespace Skiff.Benchmarks;

/// <summary>
/// Nanoseconds to parse one Ethernet/IPv4/TCP frame to reprs: a Linux SYN with four options (74 bytes)
/// and a data segment (71 bytes), with and without checksum verification (IPv4 header and TCP).
/// </summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    // Captured from a Linux 6.18 connect() over veth (see tests/Skiff.Wire.Tests/TcpTests.cs).
    private readonly byte[] _syn = Convert.FromHexString(
        "be696af6dd657a46573c6da908004500003c659740004006c0880a4d00010a4d0002" +
        "a3661f90e2187aae00000000a002faf09bbc0000020405b40402080a58a52450000000000103030a");

    private readonly byte[] _data = Convert.FromHexString(
        "be696af6dd657a46573c6da9080045000039659940004006c0890a4d00010a4d0002" +
        "a3661f90e2187aafc76e1dd98018003f970100000101080a58a524502762dda268656c6c6f");

    [Benchmark]
    public int SynVerified() => Parse(_syn, verify: true);

    [Benchmark]
    public int SynNoChecksum() => Parse(_syn, verify: false);

    [Benchmark]
    public int DataVerified() => Parse(_data, verify: true);

    [Benchmark]
    public int TcpOnlySyn()
    {
        TcpSegment.TryCreate(_syn.AsSpan(34), out TcpSegment segment);
        TcpRepr.TryParse(segment, 0, verifyChecksum: false, out TcpRepr tcp);
        return tcp.HeaderLength;
    }

    private static int Parse(Span<byte> frame, bool verify)
    {
        if (EthernetFrame.TryCreate(frame, out EthernetFrame ethernet) != WireError.Ok
            || Ipv4Packet.TryCreate(ethernet.Payload, out Ipv4Packet ip) != WireError.Ok
            || Ipv4Repr.TryParse(ip, verify, out Ipv4Repr ipRepr) != WireError.Ok
            || TcpSegment.TryCreate(ip.Payload, out TcpSegment segment) != WireError.Ok)
        {
            return -1;
        }
        uint pseudo = Checksum.PseudoHeader(ipRepr.Source, ipRepr.Destination, IpProtocol.Tcp, segment.Buffer.Length);
        return TcpRepr.TryParse(segment, pseudo, verify, out TcpRepr tcp) == WireError.Ok ? tcp.PayloadLength : -1;
    }
}
