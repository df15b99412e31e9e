using Microsoft.Extensions.Configuration;
using Skiff.Wire;

namespace Skiff.Kestrel.Internal;

/// <summary>
/// Reads the <c>Skiff</c> section of an app's configuration into <see cref="SkiffTransportOptions"/> (the options
/// pattern's configure step). Every key is a property name; a value that does not parse, or a key that names no
/// property, becomes a sentence in <see cref="SkiffTransportOptions.ConfigurationErrors"/>, which the validator reports
/// when the host starts. Nothing outside the section is read, so a platform's PORT or IP variable cannot configure Skiff.
/// </summary>
internal static class SkiffConfigurationBinder
{
    /// <summary>The keys the section may hold, as written in the error that lists them.</summary>
    private static readonly string[] s_keys =
    [
        nameof(SkiffTransportOptions.Driver), nameof(SkiffTransportOptions.InterfaceName), nameof(SkiffTransportOptions.Address),
        nameof(SkiffTransportOptions.Gateway), nameof(SkiffTransportOptions.Mac), nameof(SkiffTransportOptions.Port),
        nameof(SkiffTransportOptions.PoolFrames), nameof(SkiffTransportOptions.NoDelay), nameof(SkiffTransportOptions.Backlog),
        nameof(SkiffTransportOptions.InlineAccepts), nameof(SkiffTransportOptions.ControlSocket), nameof(SkiffTransportOptions.ControlSocketPath),
    ];

    public static void Bind(IConfiguration configuration, SkiffTransportOptions o)
    {
        IConfigurationSection section = configuration.GetSection(SkiffTransportOptions.SectionName);
        List<string> errors = o.ConfigurationErrors;
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!s_keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{child.Path} is not a setting of Skiff's Kestrel transport; the {SkiffTransportOptions.SectionName} section takes {string.Join(", ", s_keys)}.");
            }
        }
        if (Value(section, nameof(o.Driver)) is string driver)
        {
            o.Driver = driver;
        }
        if (Value(section, nameof(o.InterfaceName)) is string iface)
        {
            o.InterfaceName = iface;
        }
        if (Value(section, nameof(o.Address)) is string ip)
        {
            if (Ipv4Cidr.TryParse(ip, out Ipv4Cidr address) && address.Address.IsUnicast)
            {
                o.Address = address;
            }
            else
            {
                errors.Add($"{Key(nameof(o.Address))} '{ip}' is not a unicast IPv4 address with a prefix; write e.g. 10.0.0.2/24 (--ip 10.0.0.2/24).");
            }
        }
        if (Value(section, nameof(o.Gateway)) is string g)
        {
            if (Ipv4Address.TryParse(g, out Ipv4Address gateway) && gateway.IsUnicast)
            {
                o.Gateway = gateway;
            }
            else
            {
                errors.Add($"{Key(nameof(o.Gateway))} '{g}' is not a unicast IPv4 address; give a gateway on the address's subnet, e.g. 10.0.0.1.");
            }
        }
        if (Value(section, nameof(o.Mac)) is string m)
        {
            if (MacAddress.TryParse(m, out MacAddress mac) && mac.IsUnicast && mac != MacAddress.Zero)
            {
                o.Mac = mac;
            }
            else
            {
                errors.Add($"{Key(nameof(o.Mac))} '{m}' is not a unicast MAC address; write e.g. 02:00:0a:00:00:02.");
            }
        }
        if (Value(section, nameof(o.Port)) is string p)
        {
            if (ushort.TryParse(p, out ushort port) && port != 0)
            {
                o.Port = port;
            }
            else
            {
                errors.Add($"{Key(nameof(o.Port))} '{p}' is not a TCP port; give a number from 1 to 65535, e.g. 8080 (--port 8080).");
            }
        }
        if (Value(section, nameof(o.PoolFrames)) is string frames)
        {
            if (int.TryParse(frames, out int n) && n > 0)
            {
                o.PoolFrames = n;
            }
            else
            {
                errors.Add($"{Key(nameof(o.PoolFrames))} '{frames}' is not a number of frames; give a positive count, e.g. 16384.");
            }
        }
        if (Value(section, nameof(o.Backlog)) is string backlog)
        {
            if (int.TryParse(backlog, out int n) && n > 0)
            {
                o.Backlog = n;
            }
            else
            {
                errors.Add($"{Key(nameof(o.Backlog))} '{backlog}' is not a number of connections; give a positive count, e.g. 512.");
            }
        }
        o.NoDelay = Flag(section, nameof(o.NoDelay), o.NoDelay, errors);
        o.InlineAccepts = Flag(section, nameof(o.InlineAccepts), o.InlineAccepts, errors);
        o.ControlSocket = Flag(section, nameof(o.ControlSocket), o.ControlSocket, errors);
        if (Value(section, nameof(o.ControlSocketPath)) is string path)
        {
            o.ControlSocketPath = path;
        }

        // Without Port, Kestrel serves its own endpoints; with none of those either it would listen on
        // localhost:5000, which no Skiff stack owns.
        if (o.Port is null && configuration["urls"] is null && configuration["http_ports"] is null && configuration["https_ports"] is null
            && !configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            o.PortMissing = true;
        }
    }

    private static string Key(string property) => $"{SkiffTransportOptions.SectionName}:{property}";

    /// <summary>The key's value, or null when it is absent or blank.</summary>
    private static string? Value(IConfigurationSection section, string key) =>
        section[key] is string value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static bool Flag(IConfigurationSection section, string key, bool current, List<string> errors)
    {
        if (Value(section, key) is not string text)
        {
            return current;
        }
        if (bool.TryParse(text, out bool value))
        {
            return value;
        }
        errors.Add($"{Key(key)} '{text}' is not true or false; write {Key(key)}=true or false.");
        return current;
    }
}
