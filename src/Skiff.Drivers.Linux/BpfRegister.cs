namespace Skiff.Drivers.Linux;

/// <summary>
/// The eBPF registers: R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 callee-saved,
/// R10 read-only frame pointer (Documentation/bpf/standardization/instruction-set.rst).
/// </summary>
internal enum BpfRegister : byte
{
    R0 = 0,
    R1 = 1,
    R2 = 2,
    R3 = 3,
    R4 = 4,
    R5 = 5,
    R6 = 6,
    R7 = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
}
