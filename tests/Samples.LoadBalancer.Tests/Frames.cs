namespace Samples.LoadBalancer.Tests;

/// <summary>
/// Client frames and what the backend must receive, as literal bytes. The checksums in them were computed apart from
/// Skiff (RFC 1071 in a few lines of Python), so the tests compare Skiff's output with an independent oracle.
/// </summary>
internal static class Frames
{
    public static readonly MacAddress BackendMac = MacAddress.Parse("02:00:00:00:0b:00");

    /// <summary>10.0.0.50:40000 → 10.0.0.100:80, TCP SYN, DSCP 0x28, DF, id 0x1234.</summary>
    public static byte[] ClientTcpSyn() => Convert.FromHexString(
        "02000000000102000000003208004528002812344000400613df0a0000320a0000649c400050000003e8000000005002faf0ffe30000");

    /// <summary><see cref="ClientTcpSyn"/> in IP-in-IP from 10.0.0.2 to 10.0.0.11 (outer: DSCP, DF and id of the inner packet, TTL 64).</summary>
    public static byte[] ClientTcpSynInIpip() => Convert.FromHexString(
        "020000000b0002000000000108004528003c12344000400414560a0000020a00000b"
        + "4528002812344000400613df0a0000320a0000649c400050000003e8000000005002faf0ffe30000");

    /// <summary>10.0.0.50:40001 → 10.0.0.100:80, UDP "hi", checksum left to offload (zero), padded to 60 bytes.</summary>
    public static byte[] ClientUdpPartialPadded() => Convert.FromHexString(
        "02000000000102000000003208004500001e43210000401123190a0000320a0000649c410050000a0000686900000000000000000000000000000000");

    /// <summary><see cref="ClientUdpPartialPadded"/> in IP-in-IP: the UDP checksum finished (0xe649), the padding gone.</summary>
    public static byte[] ClientUdpInIpip() => Convert.FromHexString(
        "020000000b00020000000001080045000032432100004004239b0a0000020a00000b"
        + "4500001e43210000401123190a0000320a0000649c410050000ae6496869");

    /// <summary>A pool frame holding <paramref name="bytes"/>, classified as the engine would before the hooks.</summary>
    public static PacketBuffer Client(PacketPool pool, byte[] bytes, ChecksumState checksum = ChecksumState.None)
    {
        Assert.True(pool.TryAllocate(out PacketBuffer? frame));
        Assert.True(frame!.TrySetLength(bytes.Length));
        bytes.CopyTo(frame.Data);
        frame.Checksum = checksum;
        PacketClassifier.Classify(frame);
        return frame;
    }
}
