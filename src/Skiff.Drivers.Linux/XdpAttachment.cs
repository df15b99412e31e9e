using System.Net;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// Skiff's XDP program on one interface: the XSKMAP, the loaded <see cref="XdpSteeringProgram"/>, and the BPF
/// link that attaches it. The attachment lives exactly as long as the link fd: <see cref="Dispose"/>, a
/// finalizer, or the process dying (the kernel closes its fds) detaches the program, so nothing is left
/// swallowing traffic. Setup: construct (map and program), <see cref="RegisterSocket"/>, then <see cref="Attach"/>.
/// Several queues' devices share one attachment (one program per interface): each takes a reference with
/// <see cref="AddReference"/>, and the last <see cref="Dispose"/> detaches.
/// </summary>
internal sealed class XdpAttachment : IDisposable
{
    private readonly BpfFileDescriptor _map;
    private readonly BpfFileDescriptor _program;
    private BpfFileDescriptor? _link;
    private int _references = 1;

    /// <summary>Creates the XSKMAP (room for <paramref name="queueCount"/> queues) and loads the program steering <paramref name="addresses"/>.</summary>
    public XdpAttachment(string interfaceName, int ifIndex, int queueCount, IReadOnlyList<IPAddress> addresses)
    {
        InterfaceName = interfaceName;
        IfIndex = ifIndex;
        _map = BpfLoader.CreateXskMap(queueCount, "skiff_xsks");
        try
        {
            Program = XdpSteeringProgram.Build(_map.Fd, addresses);
            _program = BpfLoader.LoadXdpProgram(Program, "skiff_xdp");
        }
        catch
        {
            _map.Dispose();
            throw;
        }
    }

    public string InterfaceName { get; }

    public int IfIndex { get; }

    /// <summary>The program's instructions as loaded.</summary>
    public BpfInstruction[] Program { get; }

    /// <summary>The mode the program is attached in (Auto until <see cref="Attach"/> succeeds).</summary>
    public XdpAttachMode Mode { get; private set; }

    /// <summary>Steers queue <paramref name="queueId"/> to the AF_XDP socket <paramref name="socketFd"/> (bound already).</summary>
    public void RegisterSocket(int queueId, int socketFd) => BpfLoader.UpdateElement(_map, (uint)queueId, (uint)socketFd,
        $"Putting the AF_XDP socket into the XSKMAP at queue {queueId}", "Check that the socket is bound and the queue id is below the map's size.");

    /// <summary>
    /// Attaches with BPF_LINK_CREATE: native mode, then generic if <paramref name="mode"/> is Auto and the driver refuses.
    /// Throws <see cref="DriverException"/> when no mode attaches.
    /// </summary>
    public XdpAttachMode Attach(XdpAttachMode mode)
    {
        int errno = 0;
        if (mode is XdpAttachMode.Auto or XdpAttachMode.Native)
        {
            _link = BpfLoader.TryCreateXdpLink(_program, IfIndex, Bpf.XDP_FLAGS_DRV_MODE, out errno);
            if (_link is not null)
            {
                return Mode = XdpAttachMode.Native;
            }
            if (mode == XdpAttachMode.Native || errno is Libc.EBUSY or Bpf.EEXIST or Libc.EPERM)
            {
                throw AttachFailure(errno, "native");
            }
        }
        _link = BpfLoader.TryCreateXdpLink(_program, IfIndex, Bpf.XDP_FLAGS_SKB_MODE, out errno);
        if (_link is not null)
        {
            return Mode = XdpAttachMode.Generic;
        }
        throw AttachFailure(errno, "generic");
    }

    private DriverException AttachFailure(int errno, string mode)
    {
        string advice = errno switch
        {
            Libc.EBUSY or Bpf.EEXIST => $"Another XDP program is attached to {InterfaceName}: remove it (ip link set dev {InterfaceName} xdp off) or stop the program that holds it, then retry.",
            Libc.EPERM or Libc.EACCES => BpfLoader.PrivilegeAdvice,
            Libc.EOPNOTSUPP or Libc.EINVAL => $"{InterfaceName} does not support {mode} XDP: try another --xdp-mode, or use --driver afpacket.",
            _ => "Use --driver afpacket if this interface cannot run XDP.",
        };
        return new DriverException($"Attaching Skiff's XDP program to {InterfaceName} in {mode} mode (bpf BPF_LINK_CREATE) failed: {Libc.Describe(errno)} (errno {errno}). {advice}", errno);
    }

    /// <summary>One more owner; each owner calls <see cref="Dispose"/> once.</summary>
    public void AddReference()
    {
        if (Interlocked.Increment(ref _references) <= 1)
        {
            throw new ObjectDisposedException(nameof(XdpAttachment), "The XDP attachment was already detached.");
        }
    }

    /// <summary>
    /// Drops one reference; the last detaches the program (closes the link), then releases the program and the map.
    /// Further calls do nothing.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Decrement(ref _references) != 0)
        {
            return;
        }
        _link?.Dispose();
        _program?.Dispose();
        _map.Dispose();
    }
}
