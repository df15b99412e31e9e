namespace Skiff.Stack.Tcp;

/// <summary>
/// The SYN options a SYN cookie can carry in the low bits of our TCP timestamp (Linux's scheme,
/// <c>cookie_init_timestamp</c>): the peer's window scale (RFC 7323 section 2.2, 0-14, null when the peer
/// sent none), SACK-permitted (RFC 2018 section 2) and ECN setup (RFC 3168 section 6.1.1).
/// </summary>
/// <param name="WindowScale">The peer's window scale shift, 0 to 14; null when its SYN had no Window Scale option.</param>
/// <param name="SackPermitted">True when the peer's SYN carried SACK-permitted.</param>
/// <param name="EcnPermitted">True when the peer's SYN asked for ECN (ECE and CWR set).</param>
public readonly record struct SynCookieOptions(byte? WindowScale, bool SackPermitted, bool EcnPermitted);
