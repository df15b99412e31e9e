namespace Skiff.Hooks.Bpf;

/// <summary>
/// A filter expression could not be compiled: libpcap refused it (the message is libpcap's own, with the
/// expression), libpcap is not installed, or it produced a program Skiff's verifier refuses.
/// </summary>
public sealed class BpfCompileException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> is a sentence for the user saying what to do.</summary>
    public BpfCompileException(string expression, string message, string? pcapMessage = null, Exception? inner = null)
        : base(message, inner)
    {
        Expression = expression;
        PcapMessage = pcapMessage;
    }

    /// <summary>The expression that was being compiled.</summary>
    public string Expression { get; }

    /// <summary>libpcap's own error text (<c>pcap_geterr</c>), when libpcap refused the expression; otherwise null.</summary>
    public string? PcapMessage { get; }
}
