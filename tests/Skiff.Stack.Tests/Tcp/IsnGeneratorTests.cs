using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp;

public class IsnGeneratorTests
{
    private static readonly byte[] s_key = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    private static readonly Ipv4Address s_local = Ipv4Address.Parse("10.0.0.1");
    private static readonly Ipv4Address s_remote = Ipv4Address.Parse("10.0.0.2");

    [Fact]
    public void SipHash_matches_the_reference_vectors()
    {
        // Aumasson and Bernstein, SipHash paper Appendix A and the reference vectors.h (key 00..0f).
        ulong k0 = 0x0706050403020100UL;
        ulong k1 = 0x0F0E0D0C0B0A0908UL;
        Assert.Equal(0x726fdb47dd0e0e31UL, SipHash24.Hash(k0, k1, []));
        byte[] fifteen = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
        Assert.Equal(0xa129ca6149be45e5UL, SipHash24.Hash(k0, k1, fifteen));
    }

    [Fact]
    public void Same_tuple_and_time_give_the_same_isn()
    {
        var gen = new IsnGenerator(s_key);
        Instant now = Instant.FromMillis(12345);
        Assert.Equal(gen.Generate(s_local, 80, s_remote, 40000, now), gen.Generate(s_local, 80, s_remote, 40000, now));
        Assert.Equal(new IsnGenerator(s_key).Generate(s_local, 80, s_remote, 40000, now), gen.Generate(s_local, 80, s_remote, 40000, now));
    }

    [Fact]
    public void Different_keys_and_tuples_give_different_isns()
    {
        var gen = new IsnGenerator(s_key);
        byte[] otherKey = (byte[])s_key.Clone();
        otherKey[15] ^= 1;
        var other = new IsnGenerator(otherKey);
        Instant now = Instant.FromMillis(1);
        SeqNumber isn = gen.Generate(s_local, 80, s_remote, 40000, now);
        Assert.NotEqual(isn, other.Generate(s_local, 80, s_remote, 40000, now));
        Assert.NotEqual(isn, gen.Generate(s_local, 80, s_remote, 40001, now));
        Assert.NotEqual(isn, gen.Generate(s_local, 81, s_remote, 40000, now));
        Assert.NotEqual(isn, gen.Generate(s_local, 80, Ipv4Address.Parse("10.0.0.3"), 40000, now));
        Assert.NotEqual(isn, gen.Generate(s_remote, 40000, s_local, 80, now));
    }

    [Fact]
    public void Isn_advances_with_the_four_microsecond_clock()
    {
        // RFC 9293 section 3.4.1: M ticks every 4 us; F is fixed for the tuple, so the ISN advances with M.
        var gen = new IsnGenerator(s_key);
        var t = new Instant(1_000_000);
        SeqNumber a = gen.Generate(s_local, 80, s_remote, 40000, t);
        SeqNumber b = gen.Generate(s_local, 80, s_remote, 40000, t + Duration.FromMicros(400));
        Assert.Equal(100, b - a);
        Assert.True(b > a);

        // M wraps modulo 2^32 ticks (about 4.77 hours).
        SeqNumber wrapped = gen.Generate(s_local, 80, s_remote, 40000, t + Duration.FromMicros(4L << 32));
        Assert.Equal(a, wrapped);
    }

    [Fact]
    public void Ipv6_tuples_are_hashed_too()
    {
        var gen = new IsnGenerator(s_key);
        Ipv6Address l = Ipv6Address.Parse("fd00::1");
        Ipv6Address r = Ipv6Address.Parse("fd00::2");
        Instant now = Instant.FromMillis(5);
        Assert.Equal(gen.Generate(l, 443, r, 50000, now), gen.Generate(l, 443, r, 50000, now));
        Assert.NotEqual(gen.Generate(l, 443, r, 50000, now), gen.Generate(l, 443, Ipv6Address.Parse("fd00::3"), 50000, now));
    }

    [Fact]
    public void Key_must_be_sixteen_bytes()
    {
        Assert.Throws<ArgumentException>(() => new IsnGenerator(new byte[15]));
    }
}
