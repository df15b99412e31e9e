namespace Skiff.Stack.Tcp;

/// <summary>Which congestion control a connection uses.</summary>
public enum CongestionControlKind : byte
{
    /// <summary>CUBIC, RFC 9438 (the default, as in Linux).</summary>
    Cubic,
    /// <summary>NewReno, RFC 5681 and RFC 6582.</summary>
    NewReno,
}
