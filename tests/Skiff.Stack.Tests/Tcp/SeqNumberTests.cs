using FsCheck;
using FsCheck.Fluent;
using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Tcp;

public class SeqNumberTests
{
    [Fact]
    public void Addition_and_difference_wrap_modulo_2_pow_32()
    {
        var a = new SeqNumber(0xFFFF_FFF0);
        SeqNumber b = a + 0x20;
        Assert.Equal(0x10u, b.Value);
        Assert.Equal(0x20, b - a);
        Assert.Equal(-0x20, a - b);
        Assert.Equal(a, b - 0x20);
    }

    [Fact]
    public void Comparison_follows_RFC_9293_section_3_4_across_the_wrap()
    {
        var beforeWrap = new SeqNumber(0xFFFF_FF00);
        var afterWrap = new SeqNumber(0x0000_0100);
        Assert.True(beforeWrap < afterWrap);
        Assert.True(afterWrap > beforeWrap);
        Assert.True(beforeWrap <= afterWrap);
        Assert.False(beforeWrap >= afterWrap);
        Assert.Equal(afterWrap, SeqNumber.Max(beforeWrap, afterWrap));
        Assert.Equal(beforeWrap, SeqNumber.Min(afterWrap, beforeWrap));
    }

    [Fact]
    public void Order_matches_the_sign_of_the_distance_for_any_distance_below_2_pow_31()
    {
        Prop.ForAll<uint, int>((raw, delta) =>
        {
            if (delta == int.MinValue)
            {
                return true;
            }
            var a = new SeqNumber(raw);
            SeqNumber b = a + delta;
            return (b - a) == delta && (b > a) == (delta > 0) && (b < a) == (delta < 0) && (b == a) == (delta == 0);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void InWindow_is_start_inclusive_end_exclusive_across_the_wrap()
    {
        var start = new SeqNumber(0xFFFF_FF00);
        Assert.True(start.InWindow(start, 0x200));
        Assert.True(new SeqNumber(0xFFFF_FFFF).InWindow(start, 0x200));
        Assert.True(new SeqNumber(0x0000_00FF).InWindow(start, 0x200));
        Assert.False(new SeqNumber(0x0000_0100).InWindow(start, 0x200));
        Assert.False(new SeqNumber(0xFFFF_FEFF).InWindow(start, 0x200));
        Assert.False(start.InWindow(start, 0));
    }

    [Fact]
    public void InWindow_and_InRange_agree_with_the_offset_definition()
    {
        Prop.ForAll<uint, uint, uint>((startRaw, offset, length) =>
        {
            var start = new SeqNumber(startRaw);
            var x = new SeqNumber(unchecked(startRaw + offset));
            return x.InWindow(start, length) == (offset < length)
                && x.InRange(start, new SeqNumber(unchecked(startRaw + length))) == (offset < length);
        }).QuickCheckThrowOnFailure();
    }
}
