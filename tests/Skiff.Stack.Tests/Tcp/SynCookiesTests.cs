using FsCheck;
using FsCheck.Fluent;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp;

public class SynCookiesTests
{
    private static readonly byte[] s_key = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 22, 33, 44, 55, 66];
    private static readonly Ipv4Address s_server = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv4Address s_client = Ipv4Address.Parse("198.51.100.7");
    private static readonly SeqNumber s_clientIsn = new(0x1234_5678);
    private static readonly Instant s_t0 = new(1_000_000_000_000);

    private static SeqNumber Issue(SynCookies cookies, ushort mss, out ushort encoded) =>
        cookies.Encode(s_server, 443, s_client, 51000, s_clientIsn, mss, s_t0, out encoded);

    private static bool Check(SynCookies cookies, SeqNumber cookie, Instant now, out ushort mss) =>
        cookies.TryValidate(cookie, s_server, 443, s_client, 51000, s_clientIsn, now, out mss);

    [Theory]
    [InlineData(1460, 1460)]
    [InlineData(9000, 1460)]
    [InlineData(1440, 1440)]
    [InlineData(1400, 1300)]
    [InlineData(1000, 536)]
    [InlineData(100, 536)]
    public void Round_trip_returns_the_largest_table_mss_not_above_the_clients(int clientMss, int expected)
    {
        var cookies = new SynCookies(s_key);
        SeqNumber cookie = Issue(cookies, (ushort)clientMss, out ushort encoded);
        Assert.Equal(expected, encoded);
        Assert.True(Check(cookies, cookie, s_t0, out ushort mss));
        Assert.Equal(expected, mss);
        Assert.Equal(1, cookies.Accepted);
    }

    [Fact]
    public void Cookies_expire_after_two_counter_steps()
    {
        var cookies = new SynCookies(s_key);
        SeqNumber cookie = Issue(cookies, 1460, out _);
        long stepMicros = SynCookies.CounterPeriodSeconds * 1_000_000;
        long intoStep = s_t0.TotalMicros % stepMicros;
        Instant stepStart = s_t0 - Duration.FromMicros(intoStep);
        Assert.True(Check(cookies, cookie, stepStart + Duration.FromMicros((3 * stepMicros) - 1), out _));
        Assert.False(Check(cookies, cookie, stepStart + Duration.FromMicros(3 * stepMicros), out _));
        // A cookie "from the future" (clock went back a step) is refused too.
        Assert.False(Check(cookies, cookie, stepStart - Duration.FromMicros(1), out _));
        Assert.Equal(2, cookies.Rejected);
    }

    [Fact]
    public void Wrong_tuple_isn_or_key_is_rejected()
    {
        var cookies = new SynCookies(s_key);
        SeqNumber cookie = Issue(cookies, 1460, out _);
        Assert.False(cookies.TryValidate(cookie, s_server, 443, s_client, 51001, s_clientIsn, s_t0, out _));
        Assert.False(cookies.TryValidate(cookie, s_server, 443, Ipv4Address.Parse("198.51.100.8"), 51000, s_clientIsn, s_t0, out _));
        Assert.False(cookies.TryValidate(cookie, s_server, 443, s_client, 51000, s_clientIsn + 1, s_t0, out _));
        byte[] otherKey = (byte[])s_key.Clone();
        otherKey[0] ^= 0x80;
        Assert.False(Check(new SynCookies(otherKey), cookie, s_t0, out _));
    }

    [Fact]
    public void Tampered_cookies_are_rejected()
    {
        var cookies = new SynCookies(s_key);
        SeqNumber cookie = Issue(cookies, 1460, out _);
        // Any change above the 2-bit MSS index breaks the 24-bit hash check or the counter.
        Prop.ForAll<uint>(mask =>
        {
            uint m = mask & ~0x3u;
            if (m == 0)
            {
                return true;
            }
            return !Check(cookies, new SeqNumber(cookie.Value ^ m), s_t0, out _);
        }).QuickCheckThrowOnFailure();
        Assert.False(Check(cookies, cookie + 1, s_t0, out _)); // index 3 + 1 is outside the table
    }

    [Fact]
    public void Ipv6_round_trip_and_family_separation()
    {
        var cookies = new SynCookies(s_key);
        Ipv6Address server = Ipv6Address.Parse("2001:db8::1");
        Ipv6Address client = Ipv6Address.Parse("2001:db8::2");
        SeqNumber cookie = cookies.Encode(server, 80, client, 60000, s_clientIsn, 1440, s_t0, out ushort encoded);
        Assert.Equal(1440, encoded);
        Assert.True(cookies.TryValidate(cookie, server, 80, client, 60000, s_clientIsn, s_t0, out ushort mss));
        Assert.Equal(1440, mss);
        Assert.False(cookies.TryValidate(cookie, server, 80, Ipv6Address.Parse("2001:db8::3"), 60000, s_clientIsn, s_t0, out _));
    }

    [Fact]
    public void Timestamp_carries_window_scale_sack_and_ecn_in_its_low_bits()
    {
        uint now = 0x1000_0000;
        var options = new SynCookieOptions(7, SackPermitted: true, EcnPermitted: false);
        uint ts = SynCookies.EncodeTimestamp(now, options);
        // Never ahead of our clock (RFC 7323 section 5.4 monotonic TSval), and within 64 ticks of it.
        Assert.True(ts <= now && now - ts < 64);
        Assert.True(SynCookies.TryDecodeTimestamp(ts, out SynCookieOptions decoded));
        Assert.Equal(options, decoded);

        uint none = SynCookies.EncodeTimestamp(0x1234_5679, new SynCookieOptions(null, false, true));
        Assert.True(SynCookies.TryDecodeTimestamp(none, out SynCookieOptions decodedNone));
        Assert.Equal(new SynCookieOptions(null, false, true), decodedNone);

        Assert.Throws<ArgumentOutOfRangeException>(() => SynCookies.EncodeTimestamp(now, new SynCookieOptions(15, false, false)));
    }
}
