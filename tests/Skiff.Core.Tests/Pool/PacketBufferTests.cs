using FsCheck;
using FsCheck.Fluent;

namespace Skiff.Core.Tests.Pool;

/// <summary>DPDK's rule for Prepend/Append/Adjust/Trim: a failed call leaves the buffer untouched.</summary>
public class PacketBufferTests
{
    [Fact]
    public void FailedHeaderOperationsLeaveTheBufferUnchangedAndSuccessfulOnesMoveTheWindow()
    {
        using PacketPool pool = new(frameCount: 1, frameBytes: 512, headroomBytes: 64);
        Gen<int> amounts = Gen.OneOf(Gen.Choose(-600, 600), Gen.Elements(int.MinValue, int.MaxValue, -1, 0, 511, 512, 513));
        Gen<(int Offset, int Length, int Op, int Amount, int Amount2)> cases =
            from offset in Gen.Choose(0, 512)
            from length in Gen.Choose(0, 512 - offset)
            from op in Gen.Choose(0, 5)
            from amount in amounts
            from amount2 in amounts
            select (offset, length, op, amount, amount2);

        Assert.True(pool.TryAllocate(out PacketBuffer? b));
        Prop.ForAll(Arb.From(cases), c =>
        {
            if (!b.TrySetData(c.Offset, c.Length))
            {
                return false;
            }
            b.Data.Fill(0xAB);
            long end = (long)c.Offset + c.Length;
            (bool ok, long offset, long length) = c.Op switch
            {
                0 => (b.TryPrepend(c.Amount), (long)c.Offset - c.Amount, (long)c.Length + c.Amount),
                1 => (b.TryAppend(c.Amount), c.Offset, (long)c.Length + c.Amount),
                2 => (b.TryAdjust(c.Amount), (long)c.Offset + c.Amount, (long)c.Length - c.Amount),
                3 => (b.TryTrim(c.Amount), c.Offset, (long)c.Length - c.Amount),
                4 => (b.TrySetLength(c.Amount), c.Offset, c.Amount),
                _ => (b.TrySetData(c.Amount, c.Amount2), c.Amount, c.Amount2),
            };
            bool legal = offset >= 0 && length >= 0 && offset + length <= 512
                && (c.Op is 4 or 5 || (c.Op is 0 or 1 ? c.Amount >= 0 : c.Amount >= 0 && c.Amount <= c.Length));
            if (ok != legal)
            {
                return false;
            }
            if (!ok)
            {
                // Unchanged: the same window over the same bytes.
                return b.DataOffset == c.Offset && b.Length == c.Length && b.Data.IndexOfAnyExcept((byte)0xAB) < 0
                    && b.HeadroomBytes + b.Length + b.TailroomBytes == 512 && end <= 512;
            }
            return b.DataOffset == offset && b.Length == length && b.HeadroomBytes + b.Length + b.TailroomBytes == 512;
        }).QuickCheckThrowOnFailure();
        b.Free();
    }
}
