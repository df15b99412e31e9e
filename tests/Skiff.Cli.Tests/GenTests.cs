using Skiff.Engine.Capture;
using Skiff.Cli.Commands;
using Skiff.Cli.Drivers;
using Skiff.Devices;
using Skiff.Wire;

namespace Skiff.Cli.Tests;

/// <summary><c>skiff gen</c>'s frames, read off the far end of the in-memory link, and <c>skiff rxdrop</c>'s loop.</summary>
public sealed class GenTests
{
    private static GenSettings Settings(int size, int flows, long count) => new()
    {
        SourceMac = MacAddress.Parse("02:00:00:00:00:01"),
        DestinationMac = MacAddress.Parse("02:00:00:00:00:02"),
        SourceAddress = Ipv4Address.Parse("198.18.0.1"),
        DestinationAddress = Ipv4Address.Parse("10.0.0.2"),
        FrameBytes = size,
        Flows = flows,
        Count = count,
        Duration = TimeSpan.FromSeconds(20),
    };

    [Theory]
    [InlineData(64, 1)]
    [InlineData(64, 4)]
    [InlineData(42, 3)]
    [InlineData(1514, 7)]
    public void Frames_parse_as_valid_ethernet_ipv4_udp(int size, int flows)
    {
        using PacketPool pool = new(4096);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, 4096);
        const int count = 1000;
        StringWriter output = new();
        Assert.Equal(0, GenCommand.Run(a, "memory", Settings(size, flows, count), output, output, default));
        Assert.Contains($"skiff gen: {count} frames of {size} bytes", output.ToString());

        PacketBuffer[] burst = new PacketBuffer[64];
        int frames = 0;
        Dictionary<ushort, int> byPort = [];
        for (int n; (n = b.ReceiveBurst(burst, Instant.Zero)) > 0;)
        {
            for (int i = 0; i < n; i++, frames++)
            {
                Span<byte> data = burst[i].Data;
                Assert.Equal(size, data.Length);
                Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(data, out EthernetFrame eth));
                Assert.Equal(WireError.Ok, EthernetRepr.TryParse(eth, out EthernetRepr er));
                Assert.Equal(EtherType.Ipv4, er.EtherType);
                Assert.Equal(MacAddress.Parse("02:00:00:00:00:02"), er.Destination);
                Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(data[14..], out Ipv4Packet ip));
                Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(ip, verifyChecksum: true, out Ipv4Repr ir));
                Assert.Equal(IpProtocol.Udp, ir.Protocol);
                Assert.Equal(Ipv4Address.Parse("10.0.0.2"), ir.Destination);
                Assert.Equal(size - 34, ir.PayloadLength);
                uint pseudo = Checksum.PseudoHeader(ir.Source, ir.Destination, IpProtocol.Udp, ir.PayloadLength);
                UdpPacket udp = new(ip.Payload);
                Assert.NotEqual(0, udp.Checksum);
                Assert.Equal(WireError.Ok, UdpRepr.TryParse(udp, pseudo, verifyChecksum: true, out UdpRepr ur));
                Assert.Equal(9, ur.DestinationPort);
                Assert.Equal(size - 42, ur.PayloadLength);
                byPort[ur.SourcePort] = byPort.GetValueOrDefault(ur.SourcePort) + 1;
                burst[i].Free();
            }
        }
        Assert.Equal(count, frames);
        Assert.Equal(Enumerable.Range(1024, flows).Select(p => (ushort)p), byPort.Keys.Order());
        Assert.All(byPort.Values, v => Assert.InRange(v, count / flows, count / flows + 1));
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void Rate_limits_the_frames_per_second()
    {
        using PacketPool pool = new(4096);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, 4096);
        GenSettings settings = Settings(64, 1, 0) with { RatePps = 2000, Duration = TimeSpan.FromSeconds(0.5) };
        StringWriter output = new();
        GenCommand.Run(a, "memory", settings, output, output, default);
        Assert.InRange(b.ReceivePending, 900, 1100);
        b.DiscardPending();
    }

    [Fact]
    public void A_size_outside_ethernet_is_refused_with_a_sentence()
    {
        using PacketPool pool = new(64);
        (InMemoryDevice a, _) = InMemoryLink.CreatePair(pool, 64);
        StringWriter output = new(), error = new();
        Assert.Equal(2, GenCommand.Run(a, "memory", Settings(20, 1, 1), output, error, default));
        Assert.Contains("give --size from 42 to 1514", error.ToString());
    }

    [Fact]
    public void Rxdrop_counts_and_frees_every_frame()
    {
        using PacketPool pool = new(4096);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, 4096);
        GenCommand.Run(a, "memory", Settings(64, 2, 3000), TextWriter.Null, TextWriter.Null, default);
        StringWriter output = new();
        Assert.Equal(0, RxDropCommand.Run([b], TimeSpan.FromSeconds(1.2), output, default));
        Assert.Contains("skiff rxdrop: 3000 frames", output.ToString());
        Assert.Equal(0, pool.InUse);
    }

    [Theory]
    [InlineData("udp", 0)]       // every frame of gen's (UDP) matches: all written at the snap length
    [InlineData("tcp", 3000)]    // none matches: all seen and filtered out, none written
    [InlineData("", 0)]          // no filter: every frame
    public void Rxdrop_with_a_capture_counts_what_the_capture_saw(string filter, int filteredOut)
    {
        using PacketPool pool = new(4096);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, 4096);
        GenCommand.Run(a, "memory", Settings(64, 2, 3000), TextWriter.Null, TextWriter.Null, default);
        StringWriter output = new();
        SkiffCaptureOptions capture = new() { Points = CapturePoints.Rx, SnapLength = 48, Filter = filter.Length == 0 ? null : filter };
        Assert.Equal(0, RxDropCommand.Run([b], TimeSpan.FromSeconds(1.2), output, default, capture: capture));
        Assert.Contains("skiff rxdrop: 3000 frames", output.ToString());
        Assert.Contains($"  capture: 3000 frames seen, {filteredOut} filtered out, 0 lost (its ring full), {3000 - filteredOut} written", output.ToString());
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void Median_of_an_even_count_is_the_mean_of_the_middle_two()
    {
        Assert.Equal(2.5, RxDropCommand.Median([4, 1, 3, 2]));
        Assert.Equal(3, RxDropCommand.Median([5, 3, 1]));
    }
}
