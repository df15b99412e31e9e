using System.Text;
using Skiff.Wire;

namespace Skiff.Cli.Formatting;

/// <summary>What <see cref="FrameDecoder"/> found in one frame. Reused from frame to frame; not thread-safe.</summary>
internal sealed class DecodedFrame
{
    /// <summary>The tcpdump-style description after the timestamp, e.g. <c>IP 10.0.0.1.5000 &gt; 10.0.0.2.80: Flags [S], ...</c>.</summary>
    public StringBuilder Text { get; } = new(256);

    /// <summary>The innermost protocol understood, as counted in the summary: TCP, UDP, ICMP, ICMP6, ARP, IPv4-frag, IPv6-frag, IPv4, IPv6, other.</summary>
    public string Protocol { get; set; } = "other";

    /// <summary>Ok, or why the frame is malformed.</summary>
    public WireError Error { get; set; }

    /// <summary>The layer that was malformed (Ethernet, IPv4, TCP, ...), when <see cref="Error"/> is not Ok.</summary>
    public string? ErrorLayer { get; set; }

    /// <summary>The 802.1Q VLAN id, if the frame is tagged.</summary>
    public int? VlanId { get; set; }

    /// <summary>Network-layer source (IPv4/IPv6 address, or ARP sender), if decoded.</summary>
    public string? Source { get; set; }

    /// <summary>Network-layer destination, if decoded.</summary>
    public string? Destination { get; set; }

    /// <summary>Transport source port, if decoded.</summary>
    public int? SourcePort { get; set; }

    /// <summary>Transport destination port, if decoded.</summary>
    public int? DestinationPort { get; set; }

    /// <summary>True when the frame is an IP fragment.</summary>
    public bool IsFragment { get; set; }

    public bool IsMalformed => Error != WireError.Ok;

    public void Reset()
    {
        Text.Clear();
        Protocol = "other";
        Error = WireError.Ok;
        ErrorLayer = null;
        VlanId = null;
        Source = null;
        Destination = null;
        SourcePort = null;
        DestinationPort = null;
        IsFragment = false;
    }

    /// <summary>Marks the frame malformed at <paramref name="layer"/> and says so in the text, tcpdump-like: <c>[|tcp] malformed TCP: truncated</c>.</summary>
    public void Fail(string layer, WireError error)
    {
        Error = error;
        ErrorLayer = layer;
        if (Text.Length > 0 && Text[^1] != ' ')
        {
            Text.Append(' ');
        }
        Text.Append("[malformed ").Append(layer).Append(": ").Append(error.Describe()).Append(']');
    }
}
