namespace Skiff.Drivers.Linux.Interop;

/// <summary>
/// The parts of bpf(2) that <see cref="TcCloneFrameGenerator"/> needs beyond XDP: a tc (SCHED_CLS) program attached
/// through a tcx link (Linux 6.6+, BPF_LINK_CREATE with BPF_TCX_EGRESS), an array map for its counters, and the
/// helpers it calls (linux/bpf.h, linux/pkt_cls.h).
/// </summary>
internal static partial class Bpf
{
    // enum bpf_cmd
    public const int BPF_MAP_LOOKUP_ELEM = 1;

    // enum bpf_map_type
    public const uint BPF_MAP_TYPE_ARRAY = 2;

    // enum bpf_prog_type
    public const uint BPF_PROG_TYPE_SCHED_CLS = 3;

    // enum bpf_attach_type
    public const uint BPF_TCX_INGRESS = 46;
    public const uint BPF_TCX_EGRESS = 47;

    // enum bpf_func_id
    public const int BPF_FUNC_map_lookup_elem = 1;
    public const int BPF_FUNC_clone_redirect = 13;

    // linux/pkt_cls.h: a tc program's verdicts. A tcx link knows only UNSPEC (= TCX_NEXT: the next program, or pass),
    // OK (TCX_PASS), SHOT (TCX_DROP) and REDIRECT; it treats any other code, STOLEN included, as TCX_NEXT.
    public const int TC_ACT_UNSPEC = -1;
    public const int TC_ACT_OK = 0;
    public const int TC_ACT_SHOT = 2;
}

/// <summary>Socket options the clone generator's trigger socket needs (asm-generic/socket.h).</summary>
internal static partial class Libc
{
    /// <summary>SO_MARK: the skb mark of every frame the socket sends (needs CAP_NET_ADMIN).</summary>
    public const int SO_MARK = 36;
}

/// <summary>What <see cref="XdpLoopFrameGenerator"/> needs beyond Interop.Bpf.cs: a device map and broadcast redirects (linux/bpf.h).</summary>
internal static partial class Bpf
{
    // enum bpf_map_type
    public const uint BPF_MAP_TYPE_DEVMAP = 14;

    // bpf_redirect_map flags: send to every device in the map (the kernel clones the frame for all but the last).
    public const int BPF_F_BROADCAST = 1 << 3;
}
