using BenchmarkDotNet.Running;

namespace Skiff.Benchmarks;

public static class Program
{
    /// <summary>
    /// <c>stack ...</c> runs the whole-stack loops (Stack/StackBench.cs); <c>rxdrop ...</c> and <c>gen ...</c> the driver
    /// benchmarks (Drivers/DriverBench.cs, run by bench/drivers.sh); <c>wake ...</c> the idle loop's wake lateness (Pipeline/WakeBench.cs); <c>lpm ...</c> and <c>fwdloop ...</c> the forwarder's LPM lookups and in-memory io loop against DPDK (Forwarding/, run by bench/lpm.sh and bench/fwdloop.sh); anything else goes to BenchmarkDotNet.
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "stack")
        {
            return Stack.StackBench.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] is "rxdrop" or "gen")
        {
            return Drivers.DriverBench.Run(args[0], args[1..]);
        }
        if (args.Length > 0 && args[0] == "wake")
        {
            return Pipeline.WakeBench.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "lpm")
        {
            return Forwarding.LpmBench.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "fwdloop")
        {
            return Forwarding.FwdLoopBench.Run(args[1..]);
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
