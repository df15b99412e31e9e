using System.Reflection;
using System.Text;
using Skiff.Stack;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// What a failed TCP transfer test prints: the Skiff connection's counters (retransmissions, drops by cause), the
/// interface's drops by cause, the TCP layer's counters, the driver's statistics, the nftables impairment counters and
/// the kernel peer's TCP counters (nstat in its namespace). Each part is collected on its own, so one that cannot be
/// read does not hide the others.
/// </summary>
public static class TransferReport
{
    private static readonly string[] s_kernelCounters =
    [
        "TcpRetransSegs", "TcpInErrs", "TcpOutRsts", "TcpExtTCPLostRetransmit", "TcpExtTCPFastRetrans", "TcpExtTCPTimeouts",
        "TcpExtTCPSackRecovery", "TcpExtTCPDSACKRecv", "TcpExtTCPDSACKOldSent", "TcpExtTCPOFOQueue", "TcpExtTCPSpuriousRTOs",
        "TcpExtTCPRcvQDrop", "TcpExtTCPZeroWindowDrop", "TcpExtTCPAbortOnData", "TcpExtTCPAbortOnTimeout", "TcpExtTCPAbortOnClose",
        "TcpExtTCPAbortOnLinger", "TcpExtTCPAbortOnMemory",
    ];

    /// <summary>
    /// Runs <paramref name="body"/>; if it throws, throws an exception whose message is the failure followed by the
    /// report (<paramref name="connection"/> describes the Skiff connection's counters, on the loop thread).
    /// </summary>
    public static void OnFailure(DriverSetup setup, NftImpairment? impairment, Func<Interface, string> connection, Action body)
    {
        try
        {
            body();
        }
        catch (Exception e)
        {
            throw new TransferFailedException($"{e.Message}{Environment.NewLine}{Describe(setup, impairment, connection)}", e);
        }
    }

    /// <summary>The report, one part per line.</summary>
    public static string Describe(DriverSetup setup, NftImpairment? impairment, Func<Interface, string> connection)
    {
        StringBuilder report = new();
        report.AppendLine("--- transfer report ---");
        Part(report, "Skiff connection", () => setup.Runner.Invoke(connection));
        Part(report, "Skiff interface", () => setup.Runner.Invoke(i =>
            $"rx {i.Counters.RxFrames} frames, tx {i.Counters.TxFrames} frames, drops: "
            + string.Join(", ", i.Counters.NonZeroDrops().Select(d => $"{d.Reason} {d.Count}"))));
        Part(report, "Skiff TCP layer", () => setup.Runner.Invoke(i => Fields(i.Tcp.Counters)));
        Part(report, "Skiff pool", () => setup.Runner.Invoke(_ => $"{setup.Pool.InUse} buffers in use"));
        Part(report, "driver", () => setup.Runner.Invoke(_ => setup.Device switch
        {
            AfPacketDevice d => d.ReadStatistics().ToString(),
            AfXdpDevice d => d.GetStatistics().ToString(),
            TapDevice d => $"TapDevice rx {d.RxPackets} (no buffer {d.RxNoBuffer}, errors {d.RxErrors}), tx {d.TxPackets} (errors {d.TxErrors})",
            _ => setup.Device.GetType().Name,
        }));
        if (impairment is not null)
        {
            report.AppendLine(impairment.Describe());
        }
        Part(report, "kernel peer", () =>
        {
            ExternalTools.Result nstat = ExternalTools.Check("ip", setup.InPeer(ExternalTools.Require("nstat"), "-a", "-s", "-z"));
            return string.Join(", ", nstat.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(w => w.Length >= 2 && s_kernelCounters.Contains(w[0]) && w[1] != "0")
                .Select(w => $"{w[0]} {w[1]}"));
        });
        Part(report, "kernel link", () => ExternalTools.Check("ip", "-n", setup.PeerNamespace, "-s", "-o", "link", "show", setup.PeerLink).Output.Trim());
        return report.ToString();
    }

    private static string Fields(object counters) => string.Join(", ", counters.GetType()
        .GetFields(BindingFlags.Public | BindingFlags.Instance)
        .Where(f => f.FieldType == typeof(long) && (long)f.GetValue(counters)! != 0)
        .Select(f => $"{f.Name} {f.GetValue(counters)}"));

    private static void Part(StringBuilder report, string name, Func<string> read)
    {
        try
        {
            report.Append(name).Append(": ").AppendLine(read());
        }
        catch (Exception e)
        {
            report.Append(name).Append(": unreadable (").Append(e.Message).AppendLine(")");
        }
    }
}

/// <summary>A TCP transfer test failed; the message carries the <see cref="TransferReport"/>.</summary>
public sealed class TransferFailedException(string message, Exception inner) : Exception(message, inner);
