using Skiff.Wire.Pcap;

namespace Skiff.Wire.Tests.Pcap;

/// <summary>Reads every outcome of a reader into a list for assertions.</summary>
internal static class CaptureAssert
{
    /// <summary>One read: a frame (copied) or an error.</summary>
    public sealed record Outcome(WireError Error, long TimestampNanos, int InterfaceId, LinkType LinkType, int OriginalLength, byte[] Data);

    public static ICaptureReader OpenOk(Stream stream)
    {
        WireError error = CaptureReader.TryOpen(stream, out ICaptureReader? reader);
        Assert.Equal(WireError.Ok, error);
        Assert.NotNull(reader);
        return reader;
    }

    public static List<Outcome> ReadAll(ICaptureReader reader)
    {
        List<Outcome> outcomes = [];
        while (reader.TryReadNext(out CaptureRecord r, out WireError e) || e != WireError.Ok)
        {
            outcomes.Add(e == WireError.Ok
                ? new Outcome(e, r.TimestampNanos, r.InterfaceId, r.LinkType, r.OriginalLength, r.Data.ToArray())
                : new Outcome(e, 0, 0, LinkType.Unknown, 0, []));
            Assert.True(outcomes.Count < 10_000, "reader does not terminate");
        }
        Assert.False(reader.CanContinue);
        return outcomes;
    }

    public static byte[] Frame(int length, byte seed)
    {
        byte[] frame = new byte[length];
        for (int i = 0; i < length; i++) frame[i] = (byte)(seed + i * 7);
        return frame;
    }
}
