using System.Net;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>The kernel's verifier against Skiff's XDP program (needs CAP_BPF).</summary>
public sealed class BpfLoaderTests
{
    [PrivilegedFact]
    public void VerifierAcceptsTheSteeringProgram()
    {
        using BpfFileDescriptor map = BpfLoader.CreateXskMap(4, "skiff_test");
        IPAddress[] addresses = [IPAddress.Parse("10.99.1.1"), IPAddress.Parse("192.168.200.255"), IPAddress.Parse("172.16.0.1")];
        BpfInstruction[] program = XdpSteeringProgram.Build(map.Fd, addresses);

        using BpfFileDescriptor loaded = BpfLoader.LoadXdpProgram(program, "skiff_test");

        Assert.False(loaded.IsInvalid);
    }

    [PrivilegedFact]
    public void VerifierAcceptsTheProgramWithNoAddresses()
    {
        using BpfFileDescriptor map = BpfLoader.CreateXskMap(1, "skiff_test");

        using BpfFileDescriptor loaded = BpfLoader.LoadXdpProgram(XdpSteeringProgram.Build(map.Fd, []), "skiff_test");

        Assert.False(loaded.IsInvalid);
    }

    [PrivilegedFact]
    public void RefusedProgramReportsTheVerifierLog()
    {
        // Reads a packet byte without checking it against data_end: the verifier must refuse it and say why.
        BpfInstruction[] unchecked_ =
        [
            BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R2, BpfRegister.R1, 0),
            BpfInstruction.LoadMemory(BpfInstruction.SizeB, BpfRegister.R0, BpfRegister.R2, 0),
            BpfInstruction.Exit(),
        ];

        DriverException e = Assert.Throws<DriverException>(() => BpfLoader.LoadXdpProgram(unchecked_, "skiff_bad"));

        Assert.Contains("verifier", e.Message);
        Assert.Contains("invalid access to packet", e.Message);
    }
}
