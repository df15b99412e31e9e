namespace Skiff.Stack.Tcp;

/// <summary>
/// The SYN options a SYN cookie can carry in the low bits of our TCP timestamp (Linux's scheme,
/// <c>cookie_init_timestamp</c>): the peer's window scale (RFC 7323 section 2.2, 0-14, null when the peer
/// sent none), SACK-permitted (RFC 2018 section 2) and ECN setup (RFC 3168 section 6.1.1).
/// </summary>
public readonly record struct SynCookieOptions(byte? WindowScale, bool SackPermitted, bool EcnPermitted);
