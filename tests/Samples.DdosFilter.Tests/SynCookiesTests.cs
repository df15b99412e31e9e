using DdosFilter;

namespace Samples.DdosFilter.Tests;

public sealed class SynCookiesTests
{
    private const uint Client = 0xC633_6401; // 198.51.100.1
    private const uint Server = 0x0A00_0002;
    private const long Now = 1_000 * SynCookies.SlotMicros + 5_000_000;

    [Fact]
    public void SipHash_matches_the_reference_vectors()
    {
        // The paper's key 00..0f; messages 00, 01, ... of length 0, 15 (appendix A) and 24 (as OpenSSL's
        // `openssl mac -macopt hexkey:000102030405060708090a0b0c0d0e0f -macopt size:8 SIPHASH` computes it).
        const ulong K0 = 0x0706050403020100UL, K1 = 0x0f0e0d0c0b0a0908UL;
        byte[] message = [.. Enumerable.Range(0, 64).Select(i => (byte)i)];
        Assert.Equal(0x726fdb47dd0e0e31UL, SynCookies.SipHash24(K0, K1, message.AsSpan(0, 0)));
        Assert.Equal(0xa129ca6149be45e5UL, SynCookies.SipHash24(K0, K1, message.AsSpan(0, 15)));
        Assert.Equal(0xb8ad50c6f649af94UL, SynCookies.SipHash24(K0, K1, message.AsSpan(0, 24)));
        // The three-word form is the same function on 24 bytes.
        ulong m0 = BitConverter.ToUInt64(message, 0), m1 = BitConverter.ToUInt64(message, 8), m2 = BitConverter.ToUInt64(message, 16);
        Assert.Equal(SynCookies.SipHash24(K0, K1, message.AsSpan(0, 24)), SynCookies.SipHash24(K0, K1, m0, m1, m2));
    }

    [Theory]
    [InlineData(1460, 1460)]
    [InlineData(1448, 1440)]
    [InlineData(9000, 8960)]
    [InlineData(536, 536)]
    [InlineData(100, 536)]
    [InlineData(1300, 1300)]
    public void A_cookie_verifies_for_its_own_handshake_and_carries_the_MSS_rounded_down(int mss, int carried)
    {
        SynCookies cookies = new(0x1234, 0x5678);
        uint isn = 0xDEAD_BEEF;
        uint cookie = cookies.Encode(Client, Server, 40000, 80, isn, mss, Now);
        Assert.Equal(carried, cookies.Verify(cookie, Client, Server, 40000, 80, isn, Now));
        Assert.Equal(carried, cookies.Verify(cookie, Client, Server, 40000, 80, isn, Now + SynCookies.SlotMicros)); // the next slot too
    }

    [Fact]
    public void A_cookie_fails_for_any_other_handshake_key_or_time()
    {
        SynCookies cookies = new(0x1234, 0x5678);
        uint isn = 77;
        uint cookie = cookies.Encode(Client, Server, 40000, 80, isn, 1460, Now);
        Assert.Equal(0, cookies.Verify(cookie, Client + 1, Server, 40000, 80, isn, Now));
        Assert.Equal(0, cookies.Verify(cookie, Client, Server + 1, 40000, 80, isn, Now));
        Assert.Equal(0, cookies.Verify(cookie, Client, Server, 40001, 80, isn, Now));
        Assert.Equal(0, cookies.Verify(cookie, Client, Server, 40000, 81, isn, Now));
        Assert.Equal(0, cookies.Verify(cookie, Client, Server, 40000, 80, isn + 1, Now));
        Assert.Equal(0, cookies.Verify(cookie ^ 1, Client, Server, 40000, 80, isn, Now));
        Assert.Equal(0, cookies.Verify(cookie, Client, Server, 40000, 80, isn, Now + 2 * SynCookies.SlotMicros)); // expired
        Assert.Equal(0, cookies.Verify(cookie, Client, Server, 40000, 80, isn, Now - SynCookies.SlotMicros)); // not yet made
        Assert.Equal(0, new SynCookies(0x1234, 0x5679).Verify(cookie, Client, Server, 40000, 80, isn, Now));
    }

    [Fact]
    public void Guessed_cookies_almost_never_verify()
    {
        // 24 bits of keyed hash: 200,000 random guesses should all fail (expected false accepts: 200,000 * 2 / 2^24 / 32 slots).
        SynCookies cookies = new();
        Random random = new(18);
        int accepted = 0;
        for (int i = 0; i < 200_000; i++)
        {
            uint guess = (uint)random.NextInt64(0, 1L << 32);
            if (cookies.Verify(guess, (uint)random.Next(), Server, (ushort)random.Next(1024, 65536), 80, (uint)random.Next(), Now) != 0)
            {
                accepted++;
            }
        }
        Assert.True(accepted <= 2, $"{accepted} of 200,000 random cookies verified");
    }

    [Fact]
    public void Encode_and_verify_allocate_nothing()
    {
        SynCookies cookies = new();
        uint isn = 1;
        long bytes = Allocations.LeastPerRound(() =>
        {
            uint c = cookies.Encode(Client, Server, 40000, 80, isn, 1460, Now);
            _ = cookies.Verify(c, Client, Server, 40000, 80, isn++, Now);
        });
        Assert.Equal(0, bytes);
    }
}
