using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Hosting;
using Skiff.Drivers.Linux;
using Skiff.Wire;

namespace Skiff.Kestrel.Internal;

/// <summary>
/// Checks <see cref="SkiffTransportOptions"/> when the host starts (<c>ValidateOnStart</c>), however they were set: from
/// the <c>Skiff</c> configuration section or in code. Each failure is a sentence that names the setting, its
/// command-line switch and what to write; the host does not start with any of them.
/// </summary>
internal sealed class SkiffTransportOptionsValidator : IValidateOptions<SkiffTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, SkiffTransportOptions options)
    {
        List<string> failures = Failures(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>What is wrong with <paramref name="o"/>, in sentences; empty when the transport can start.</summary>
    public static List<string> Failures(SkiffTransportOptions o)
    {
        List<string> failures = [.. o.ConfigurationErrors];
        string section = SkiffTransportOptions.SectionName;
        bool kernel = o.Driver == SkiffWebHostBuilderExtensions.KernelDriver;
        int ways = (o.Stack is null ? 0 : 1) + (o.DeviceFactory is null ? 0 : 1) + (o.Driver is null ? 0 : 1);
        if (ways == 0)
        {
            failures.Add($"Say which driver Skiff opens: {section}:Driver afxdp, afpacket or tap, with {section}:InterfaceName and {section}:Address "
                + "(on the command line --driver afxdp --iface IF --ip A.B.C.D/NN --port PORT), or give SkiffTransportOptions a Stack, or a DeviceFactory with StackOptions.");
        }
        else if (ways > 1)
        {
            failures.Add("Skiff's Kestrel transport was given more than one stack source: set only one of Stack, DeviceFactory or Driver.");
        }
        if (o.DeviceFactory is not null && o.StackOptions is null)
        {
            failures.Add("SkiffTransportOptions.DeviceFactory needs StackOptions (the stack's MAC and addresses); set them too.");
        }
        if (o.Driver is string driver && !kernel)
        {
            if (!LinuxDevices.DriverNames.Contains(driver))
            {
                failures.Add($"{section}:Driver '{driver}' is not a Skiff driver; choose one of {string.Join(", ", LinuxDevices.DriverNames)} (or {SkiffWebHostBuilderExtensions.KernelDriver}: Kestrel's own sockets).");
            }
            else if (string.IsNullOrWhiteSpace(o.InterfaceName))
            {
                failures.Add($"Say which interface the {driver} driver opens: {section}:InterfaceName (--iface IF; see `ip link`).");
            }
        }
        if (o.Driver is not null && o.Address is null && !o.ConfigurationErrors.Any(e => e.StartsWith($"{section}:Address", StringComparison.Ordinal)))
        {
            failures.Add(kernel
                ? $"Say which address Kestrel listens on: {section}:Address A.B.C.D/NN (--ip A.B.C.D/NN), an address of this host."
                : $"Say which address Skiff owns on the interface: {section}:Address A.B.C.D/NN (--ip A.B.C.D/NN, e.g. --ip 10.0.0.2/24).");
        }
        if (o.Gateway is Ipv4Address gateway && o.Address is Ipv4Cidr address && !address.Contains(gateway))
        {
            failures.Add($"{section}:Gateway {gateway} is not inside {address}; give a gateway on the address's subnet (--gateway).");
        }
        if (o.PortMissing && failures.Count == 0)
        {
            failures.Add($"Say which port Kestrel serves: {section}:Port (--port PORT, e.g. --port 8080), or Kestrel endpoints of its own (--urls http://A.B.C.D:PORT with the stack's address).");
        }
        if (o.PoolFrames <= 0)
        {
            failures.Add($"{section}:PoolFrames is {o.PoolFrames}; give a positive number of frames, e.g. 16384.");
        }
        return failures;
    }
}
