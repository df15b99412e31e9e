namespace Skiff.Drivers.Linux;

/// <summary>
/// One classic BPF instruction (<c>struct sock_filter</c> of linux/filter.h), as <c>tcpdump -dd</c> prints it:
/// <c>{ Code, JumpTrue, JumpFalse, K }</c>. A program of these, given in <see cref="AfPacketOptions.Filter"/>, runs in
/// the kernel on every frame before it reaches the ring (SO_ATTACH_FILTER): it returns the number of bytes to keep,
/// 0 to drop the frame.
/// </summary>
/// <param name="Code">Opcode (class, size, mode and source bits, e.g. 0x28 = ldh [k]).</param>
/// <param name="JumpTrue">Instructions to skip when a conditional jump is taken.</param>
/// <param name="JumpFalse">Instructions to skip when it is not.</param>
/// <param name="K">The instruction's constant.</param>
public readonly record struct AfPacketFilterInstruction(ushort Code, byte JumpTrue, byte JumpFalse, uint K);
