using Skiff.Devices;

namespace Skiff.Core.Tests.Devices;

/// <summary>Device middleware passes on what the wrapped device can do: the descriptor to sleep on, buffered frames, when held frames fall due.</summary>
public sealed class DelegatingDeviceTests
{
    private sealed class WaitableStub(PacketPool pool) : IDevice, IWaitableDevice
    {
        public DeviceCapabilities Capabilities { get; } = new(MtuBytes: 1400, MaxBurst: 16);
        public PacketPool Pool => pool;
        public int ReceiveWaitDescriptor => 42;
        public bool HasBufferedReceive { get; set; }
        public int ReceiveBurst(Span<PacketBuffer> buffers, Instant now) => 0;
        public int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now) => buffers.Length;
    }

    private sealed class Passthrough(IDevice inner) : DelegatingDevice(inner);

    [Fact]
    public void An_impairment_over_a_waitable_device_keeps_its_descriptor_and_buffered_state()
    {
        using PacketPool pool = new(16);
        WaitableStub inner = new(pool) { HasBufferedReceive = true };
        using ImpairedDevice impaired = new(inner, new ImpairmentOptions { LossProbability = 0.1 });
        IWaitableDevice waitable = Assert.IsAssignableFrom<IWaitableDevice>(impaired);
        Assert.Equal(42, waitable.ReceiveWaitDescriptor);
        Assert.True(waitable.HasBufferedReceive);
        Assert.Equal(1400, impaired.Capabilities.MtuBytes);

        // Two layers deep, and over a device that cannot be waited on.
        Passthrough outer = new(impaired);
        Assert.Equal(42, outer.ReceiveWaitDescriptor);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, 8);
        Assert.Equal(-1, new Passthrough(a).ReceiveWaitDescriptor);
        Assert.False(new Passthrough(b).HasBufferedReceive);
    }

    [Fact]
    public void A_delayed_frame_makes_the_wrapper_and_what_wraps_it_report_when_it_falls_due()
    {
        using PacketPool pool = new(16);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, 8);
        using ImpairedDevice delayed = new(a, new ImpairmentOptions { Delay = Duration.FromMillis(30), Directions = ImpairmentDirections.Transmit });
        Passthrough outer = new(delayed);
        Assert.Equal(Instant.Never, outer.PollAt(Instant.Zero));

        Assert.True(pool.TryAllocate(out PacketBuffer? frame));
        frame.TryAppend(60);
        Assert.Equal(1, delayed.TransmitBurst([frame], Instant.FromMillis(5)));
        Assert.Equal(Instant.FromMillis(35), delayed.PollAt(Instant.FromMillis(5)));
        Assert.Equal(Instant.FromMillis(35), outer.PollAt(Instant.FromMillis(5)));

        delayed.Flush(Instant.FromMillis(35));
        Assert.Equal(Instant.Never, outer.PollAt(Instant.FromMillis(35)));
        Assert.Equal(1, b.DiscardPending());
    }
}
