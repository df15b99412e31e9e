using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using Skiff.Devices;

namespace Skiff.Core.Tests.Devices;

/// <summary>
/// A pool, an in-memory link, the impaired wrapper around its end A, and a manual clock. What the wrapper
/// transmits arrives at <see cref="Peer"/>; what the peer transmits is received through the wrapper. Frames
/// carry their id in the first four bytes and a pattern derived from it after, so any change is visible.
/// </summary>
internal sealed class ImpairHarness : IDisposable
{
    private readonly PacketBuffer[] _one = new PacketBuffer[1];

    /// <param name="linkCapacity">Frames the link holds per direction (a power of two); small values make the inner device refuse frames.</param>
    /// <param name="receiveChecksum">What the link stamps on received frames (emulated receive offload).</param>
    public ImpairHarness(
        ImpairmentOptions options,
        int poolFrames = 4096,
        int linkCapacity = 1024,
        DeviceCapabilities? capabilities = null,
        ChecksumState receiveChecksum = ChecksumState.None)
    {
        Pool = new PacketPool(poolFrames);
        (Inner, Peer) = InMemoryLink.CreatePair(Pool, linkCapacity, capabilities, receiveChecksum);
        Device = new ImpairedDevice(Inner, options);
    }

    public PacketPool Pool { get; }

    /// <summary>The wrapped end of the link.</summary>
    public InMemoryDevice Inner { get; }

    /// <summary>The far end: receives what the wrapper transmits, sends what the wrapper receives.</summary>
    public InMemoryDevice Peer { get; }

    public ImpairedDevice Device { get; }

    public ManualClock Clock { get; } = new();

    public static PacketBuffer MakeFrame(PacketPool pool, int id, int lengthBytes = 100)
    {
        Assert.True(pool.TryAllocate(out PacketBuffer? b), "test pool exhausted");
        Assert.True(b.TryAppend(lengthBytes));
        Fill(b.Data, id);
        return b;
    }

    /// <summary>The bytes frame <paramref name="id"/> was created with.</summary>
    public static void Fill(Span<byte> data, int id)
    {
        for (int i = 4; i < data.Length; i++)
        {
            data[i] = (byte)((id * 31) + (i * 7));
        }
        BinaryPrimitives.WriteInt32LittleEndian(data, id);
    }

    public static int IdOf(PacketBuffer b) => BinaryPrimitives.ReadInt32LittleEndian(b.Data);

    /// <summary>Number of bits by which the frame differs from the frame it was created as (its id must be intact).</summary>
    public static int BitsChanged(PacketBuffer b, int id)
    {
        Span<byte> expected = stackalloc byte[b.Length];
        Fill(expected, id);
        int bits = 0;
        ReadOnlySpan<byte> actual = b.Data;
        for (int i = 0; i < expected.Length; i++)
        {
            bits += System.Numerics.BitOperations.PopCount((uint)(expected[i] ^ actual[i]));
        }
        return bits;
    }

    /// <summary>Transmits frames <paramref name="firstId"/>.. in one burst at the clock's now; asserts all were accepted.</summary>
    public void Send(int firstId, int count, int lengthBytes = 100)
    {
        PacketBuffer[] burst = new PacketBuffer[count];
        for (int i = 0; i < count; i++)
        {
            burst[i] = MakeFrame(Pool, firstId + i, lengthBytes);
        }
        Assert.Equal(count, Device.TransmitBurst(burst, Clock.Now));
    }

    /// <summary>Takes the next frame that crossed the link from the wrapper to the peer; the caller owns it. Allocation-free.</summary>
    public bool TryTakeSent([NotNullWhen(true)] out PacketBuffer? frame)
    {
        if (Peer.ReceiveBurst(_one, Clock.Now) == 1)
        {
            frame = _one[0];
            return true;
        }
        frame = null;
        return false;
    }

    /// <summary>The peer transmits <paramref name="frame"/> towards the wrapper; asserts the link took it.</summary>
    public void SendFromPeer(PacketBuffer frame)
    {
        _one[0] = frame;
        if (Peer.TransmitBurst(_one, Clock.Now) != 1)
        {
            Assert.Fail("the link refused a frame from the peer"); // not Assert.Equal: this runs in the allocation test
        }
    }

    /// <summary>Takes and frees what crossed the link to the peer, returning the ids in arrival order.</summary>
    public List<int> DrainSentIds()
    {
        List<int> ids = [];
        while (TryTakeSent(out PacketBuffer? b))
        {
            ids.Add(IdOf(b));
            b.Free();
        }
        return ids;
    }

    /// <summary>Moves the clock to each instant the device asks for up to <paramref name="until"/>, flushing and
    /// recording what reaches the inner device then; finally moves the clock to <paramref name="until"/>.</summary>
    public List<(int Id, Instant At)> RunUntil(Instant until)
    {
        List<(int, Instant)> released = [];
        for (int guard = 0; guard < 1_000_000; guard++)
        {
            Instant at = Device.PollAt();
            if (at == Instant.Never || at > until)
            {
                if (until != Instant.Never)
                {
                    Clock.AdvanceTo(until);
                }
                return released;
            }
            Clock.AdvanceTo(at);
            Device.Flush(Clock.Now);
            foreach (int id in DrainSentIds())
            {
                released.Add((id, Clock.Now));
            }
        }
        throw new InvalidOperationException("the device never went idle");
    }

    /// <summary><see cref="RunUntil"/> until nothing is held.</summary>
    public List<(int Id, Instant At)> RunUntilIdle() => RunUntil(Instant.Never);

    /// <summary>Disposes the device, frees what the inner double still holds, and asserts every frame is back in the pool.</summary>
    public void AssertNoLeak()
    {
        Device.Dispose();
        Inner.DiscardPending();
        Peer.DiscardPending();
        Assert.Equal(0, Pool.InUse);
    }

    /// <summary>Releases everything without asserting, so a failing test reports its own failure.</summary>
    public void Dispose()
    {
        Device.Dispose();
        Inner.DiscardPending();
        Peer.DiscardPending();
        Pool.Dispose();
    }
}
