using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// Skiff's XDP program: it redirects to the AF_XDP socket of the receiving queue (through the XSKMAP) only
/// the frames Skiff owns and passes everything else to the kernel (the exception path: ssh, the host's own
/// addresses and every protocol Skiff does not handle keep working). Skiff owns
/// <list type="bullet">
/// <item>untagged IPv4 frames whose destination address is one of the steered addresses, and</item>
/// <item>untagged ARP frames whose target protocol address is one of them, and</item>
/// <item>untagged IPv6 frames whose destination is one of the steered IPv6 addresses (Skiff's unicast addresses,
/// their solicited-node groups and all-nodes, which the caller lists), so NDP and ICMPv6 reach Skiff (issue 16).</item>
/// </list>
/// The address 0.0.0.0 steers every frame instead (<c>skiff fwd</c>: the forwarder owns the whole port).
/// Every packet read is bounds-checked against data_end first, as the verifier demands. When the queue has
/// no socket in the map, <c>bpf_redirect_map</c> returns its fallback, XDP_PASS.
/// </summary>
/// <remarks>
/// In C it would read:
/// <code>
/// void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
/// if (data + 14 > end) return XDP_PASS;
/// __u16 type = *(__u16 *)(data + 12); __u32 addr;
/// if (type == htons(ETH_P_IP))       { if (data + 34 > end) return XDP_PASS; addr = *(__u32 *)(data + 30); }
/// else if (type == htons(ETH_P_ARP)) { if (data + 42 > end) return XDP_PASS; addr = *(__u32 *)(data + 38); }
/// else return XDP_PASS;
/// if (addr == A1 || addr == A2 ...) return bpf_redirect_map(&amp;xsks, ctx->rx_queue_index, XDP_PASS);
/// return XDP_PASS;
/// </code>
/// Loads are in host byte order, so the constants are the wire bytes read in host order too.
/// </remarks>
internal static class XdpSteeringProgram
{
    private const int EthernetHeaderBytes = 14;
    private const short EtherTypeOffset = 12;
    private const short Ipv4DestinationOffset = EthernetHeaderBytes + 16;  // 30
    private const int Ipv4MinimumEnd = EthernetHeaderBytes + 20;           // 34
    private const short ArpTargetProtocolOffset = EthernetHeaderBytes + 24; // 38
    private const int ArpMinimumEnd = EthernetHeaderBytes + 28;            // 42
    private const int Ipv6DestinationOffset = EthernetHeaderBytes + 24;    // 38
    private const int Ipv6MinimumEnd = EthernetHeaderBytes + 40;           // 54

    /// <summary>Builds the program for the XSKMAP <paramref name="xskMapFd"/> and the IPv4 and IPv6 <paramref name="steered"/> addresses Skiff owns.</summary>
    public static BpfInstruction[] Build(int xskMapFd, IReadOnlyList<IPAddress> steered)
    {
        BpfAssembler a = new();
        IPAddress[] addresses = [.. steered.Where(s => s.AddressFamily != AddressFamily.InterNetworkV6)];
        IPAddress[] ipv6 = [.. steered.Where(s => s.AddressFamily == AddressFamily.InterNetworkV6)];
        if (steered.Count == 0)
        {
            // Nothing to steer: the verifier refuses unreachable code, so the program is just "return XDP_PASS".
            a.Emit(BpfInstruction.Mov64(BpfRegister.R0, Bpf.XDP_PASS));
            a.Emit(BpfInstruction.Exit());
            return a.Build();
        }
        if (addresses.Any(IPAddress.Any.Equals))
        {
            // 0.0.0.0 steers every frame of the queue to Skiff (a forwarder owns the whole port):
            // return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
            a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R2, BpfRegister.R1, Bpf.XdpMdRxQueueIndex));
            a.Emit(BpfInstruction.LoadMapFd(BpfRegister.R1, xskMapFd));
            a.Emit(BpfInstruction.Mov64(BpfRegister.R3, Bpf.XDP_PASS));
            a.Emit(BpfInstruction.Call(Bpf.BPF_FUNC_redirect_map));
            a.Emit(BpfInstruction.Exit());
            return a.Build();
        }
        int pass = a.DefineLabel();
        int ipv4 = a.DefineLabel();
        int arp = a.DefineLabel();
        int match = a.DefineLabel();
        int redirect = a.DefineLabel();

        // R1 = ctx (struct xdp_md *) throughout; R2 = data, R3 = data_end.
        a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R2, BpfRegister.R1, Bpf.XdpMdData));
        a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R3, BpfRegister.R1, Bpf.XdpMdDataEnd));
        EmitBoundsCheck(a, EthernetHeaderBytes, pass);
        a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeH, BpfRegister.R5, BpfRegister.R2, EtherTypeOffset));
        a.EmitJump(BpfInstruction.Jump32(BpfInstruction.JumpEq, BpfRegister.R5, WireU16(0x0800), 0), ipv4);
        a.EmitJump(BpfInstruction.Jump32(BpfInstruction.JumpEq, BpfRegister.R5, WireU16(0x0806), 0), arp);
        int ipv6Label = a.DefineLabel();
        if (ipv6.Length > 0)
        {
            a.EmitJump(BpfInstruction.Jump32(BpfInstruction.JumpEq, BpfRegister.R5, WireU16(0x86DD), 0), ipv6Label);
        }
        a.EmitJump(BpfInstruction.Goto(0), pass);

        a.Mark(ipv4);
        EmitBoundsCheck(a, Ipv4MinimumEnd, pass);
        a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R5, BpfRegister.R2, Ipv4DestinationOffset));
        a.EmitJump(BpfInstruction.Goto(0), match);

        a.Mark(arp);
        EmitBoundsCheck(a, ArpMinimumEnd, pass);
        a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R5, BpfRegister.R2, ArpTargetProtocolOffset));

        a.Mark(match);
        foreach (IPAddress address in addresses)
        {
            a.EmitJump(BpfInstruction.Jump32(BpfInstruction.JumpEq, BpfRegister.R5, WireU32(address), 0), redirect);
        }
        a.EmitJump(BpfInstruction.Goto(0), pass);

        if (ipv6.Length > 0)
        {
            // IPv6: the four words of the destination (bytes 38-53) against each steered address.
            a.Mark(ipv6Label);
            EmitBoundsCheck(a, Ipv6MinimumEnd, pass);
            foreach (IPAddress address in ipv6)
            {
                int next = a.DefineLabel();
                byte[] bytes = address.GetAddressBytes();
                for (int w = 0; w < 4; w++)
                {
                    a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R5, BpfRegister.R2, (short)(Ipv6DestinationOffset + 4 * w)));
                    a.EmitJump(BpfInstruction.Jump32(BpfInstruction.JumpNe, BpfRegister.R5, MemoryMarshal.Read<int>(bytes.AsSpan(4 * w)), 0), next);
                }
                a.EmitJump(BpfInstruction.Goto(0), redirect);
                a.Mark(next);
            }
            a.EmitJump(BpfInstruction.Goto(0), pass);
        }

        // return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
        a.Mark(redirect);
        a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R2, BpfRegister.R1, Bpf.XdpMdRxQueueIndex));
        a.Emit(BpfInstruction.LoadMapFd(BpfRegister.R1, xskMapFd));
        a.Emit(BpfInstruction.Mov64(BpfRegister.R3, Bpf.XDP_PASS));
        a.Emit(BpfInstruction.Call(Bpf.BPF_FUNC_redirect_map));
        a.Emit(BpfInstruction.Exit());

        a.Mark(pass);
        a.Emit(BpfInstruction.Mov64(BpfRegister.R0, Bpf.XDP_PASS));
        a.Emit(BpfInstruction.Exit());
        return a.Build();
    }

    /// <summary>if (data + <paramref name="bytes"/> &gt; data_end) goto <paramref name="pass"/>; uses R4.</summary>
    private static void EmitBoundsCheck(BpfAssembler a, int bytes, int pass)
    {
        a.Emit(BpfInstruction.Mov64(BpfRegister.R4, BpfRegister.R2));
        a.Emit(BpfInstruction.Add64(BpfRegister.R4, bytes));
        a.EmitJump(BpfInstruction.Jump(BpfInstruction.JumpGt, BpfRegister.R4, BpfRegister.R3, 0), pass);
    }

    /// <summary>The value a 16-bit load of the big-endian wire field <paramref name="value"/> yields on this machine.</summary>
    private static int WireU16(ushort value) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value;

    /// <summary>The value a 32-bit load of the address's four wire bytes yields on this machine.</summary>
    internal static int WireU32(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"Only IPv4 addresses can be steered to AF_XDP; {address} is not one.", nameof(address));
        }
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return MemoryMarshal.Read<int>(bytes);
    }
}
