namespace Skiff.Drivers.Linux;

/// <summary>
/// What <see cref="XdpLiveFrameGenerator.Probe"/> found: whether this kernel runs an XDP program on live frames
/// (BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES) and whether it runs the same program in a plain test run, each with
/// the errno of the refusal (0 when it worked).
/// </summary>
/// <param name="LiveFramesErrno">The errno of the one-frame live-frames run, or 0 if it ran.</param>
/// <param name="PlainRunErrno">The errno of the one-frame plain test run, or 0 if it ran.</param>
/// <param name="HasCapabilities">True if the process has CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN (CapEff of /proc/self/status).</param>
public readonly record struct XdpLiveFrameProbe(int LiveFramesErrno, int PlainRunErrno, bool HasCapabilities)
{
    /// <summary>True if the live-frames run worked: <see cref="XdpLiveFrameGenerator"/> can send here.</summary>
    public bool LiveFramesWork => LiveFramesErrno == 0;

    /// <summary>True if the plain test run worked.</summary>
    public bool PlainRunWorks => PlainRunErrno == 0;

    /// <summary>
    /// True if the kernel refuses live frames with EPERM or EACCES although the process has the capabilities it asks
    /// for: a kernel policy, not a missing privilege (Linux 6.18 here does this even to root).
    /// </summary>
    public bool KernelRefusesLiveFrames => LiveFramesErrno is Interop.Libc.EPERM or Interop.Libc.EACCES && HasCapabilities;

    /// <inheritdoc/>
    public override string ToString() =>
        $"live frames: {(LiveFramesWork ? "work" : $"errno {LiveFramesErrno}")}, plain run: {(PlainRunWorks ? "works" : $"errno {PlainRunErrno}")}, " +
        $"capabilities: {(HasCapabilities ? "CAP_BPF and CAP_NET_ADMIN" : "missing")}";
}
