namespace Skiff;

/// <summary>What a device can carry and do.</summary>
/// <param name="MtuBytes">Largest L3 packet (Ethernet payload) the device carries; 1500 by default.</param>
/// <param name="MaxBurst">Most frames one <see cref="IDevice.ReceiveBurst"/> or <see cref="IDevice.TransmitBurst"/> handles.</param>
/// <param name="RxChecksum">Checksums the device verifies on receive (reported per frame in <see cref="PacketBuffer.Checksum"/>).</param>
/// <param name="TxChecksum">Checksums the device computes on transmit, so the stack may leave them out.</param>
public readonly record struct DeviceCapabilities(
    int MtuBytes = 1500,
    int MaxBurst = 32,
    ChecksumOffloads RxChecksum = ChecksumOffloads.None,
    ChecksumOffloads TxChecksum = ChecksumOffloads.None)
{
    /// <summary>The Ethernet header plus the MTU (no FCS, no VLAN tag).</summary>
    public int MaxFrameBytes => MtuBytes + 14;
}
