namespace Skiff.Stack.Arp;

/// <summary>What one <see cref="ArpCache.Poll"/> produced.</summary>
/// <param name="RequestCount">Requests written to the caller's span: send each.</param>
/// <param name="UnreachableCount">
/// Packets written to the caller's unreachable span: they waited for a destination that did not answer.
/// The caller owns them (send ICMP destination unreachable, code 1 host unreachable, RFC 1122 section 2.3.2.2 / RFC 792, then free them).
/// </param>
/// <param name="HasMore">True when a span filled up before all due work was done: call again.</param>
public readonly record struct ArpPollResult(int RequestCount, int UnreachableCount, bool HasMore);
