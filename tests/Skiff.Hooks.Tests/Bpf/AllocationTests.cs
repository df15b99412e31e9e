using Skiff.Hooks.Bpf;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>Running a filter allocates nothing per frame.</summary>
public class AllocationTests
{
    private const string Long = "tcp[tcpflags] & tcp-syn != 0 and (dst net 10.0.0.0/8 or src host 192.168.1.1) and not port 22";

    [Theory]
    [InlineData("ip")]
    [InlineData("tcp port 80")]
    [InlineData(Long)]
    [InlineData("tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420")] // scratch memory in the interpreter
    public void MatchesAndRun_AllocateNothing(string expression)
    {
        BpfFilter filter = BpfFilter.Compile(expression);
        byte[][] frames = TestData.AllFrames.Select(f => f.Bytes).ToArray();
        int i = 0;
        int matched = 0;
        long filterBytes = Allocations.LeastPerRound(() => matched += filter.Matches(frames[i++ % frames.Length]) ? 1 : 0);
        long interpreterBytes = Allocations.LeastPerRound(() => matched += BpfInterpreter.Run(filter.Program, frames[i++ % frames.Length], 1500) != 0 ? 1 : 0);
        Assert.Equal(0, filterBytes);
        Assert.Equal(0, interpreterBytes);
        Assert.True(matched > 0);
    }
}
