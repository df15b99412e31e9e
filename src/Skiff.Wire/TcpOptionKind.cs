namespace Skiff.Wire;

/// <summary>TCP option kinds (IANA "TCP Option Kind Numbers"). Values not listed are carried through as unknown.</summary>
public enum TcpOptionKind : byte
{
    /// <summary>End of option list (RFC 9293 section 3.2): stops option processing.</summary>
    EndOfList = 0,
    /// <summary>No-operation padding (RFC 9293 section 3.2), one byte.</summary>
    NoOperation = 1,
    /// <summary>Maximum segment size, length 4 (RFC 9293 section 3.7.1).</summary>
    MaxSegmentSize = 2,
    /// <summary>Window scale shift, length 3 (RFC 7323 section 2.2).</summary>
    WindowScale = 3,
    /// <summary>SACK permitted, length 2 (RFC 2018 section 2).</summary>
    SackPermitted = 4,
    /// <summary>SACK blocks, length 2 + 8n (RFC 2018 section 3).</summary>
    Sack = 5,
    /// <summary>Timestamps, length 10 (RFC 7323 section 3.2).</summary>
    Timestamp = 8,
    /// <summary>MD5 signature (RFC 2385), recognised for formatting only.</summary>
    Md5Signature = 19,
    /// <summary>User timeout (RFC 5482), recognised for formatting only.</summary>
    UserTimeout = 28,
    /// <summary>TCP-AO (RFC 5925), recognised for formatting only.</summary>
    Authentication = 29,
    /// <summary>Multipath TCP (RFC 8684), recognised for formatting only.</summary>
    Multipath = 30,
    /// <summary>TCP Fast Open cookie (RFC 7413), recognised for formatting only.</summary>
    FastOpen = 34,
}
