using System.IO.Compression;
using System.Xml.Linq;

namespace Skiff.Cli.Tests;

/// <summary>
/// What a newcomer does with Skiff's packages, on this machine and offline: pack the solution into a folder, install
/// the <c>skiff</c> tool from it and run the demo, and build a fresh console project that references the libraries
/// from it and runs two stacks over the in-memory link. Restores use only that folder (a NuGet.config that clears
/// every other source) and a package cache of their own, so a package cached by an earlier run cannot stand in.
/// </summary>
public sealed class PackageTests(PackageTests.Feed feed) : IClassFixture<PackageTests.Feed>
{
    private static readonly string[] Libraries = ["Skiff.Core", "Skiff.Wire", "Skiff.Stack", "Skiff.Hooks", "Skiff.Drivers.Linux", "Skiff.Engine", "Skiff.Kestrel", "Skiff.QDisc", "Skiff.Forwarding"];

    [Fact]
    public void The_solution_packs_every_library_and_the_tool_with_readme_licence_docs_and_symbols()
    {
        foreach (string id in Libraries.Append("skiff"))
        {
            string package = Path.Combine(feed.Folder, $"{id}.{Version}.nupkg");
            Assert.True(File.Exists(package), $"{id}.{Version}.nupkg was not packed: {string.Join(", ", Directory.GetFiles(feed.Folder).Select(Path.GetFileName))}");
            Assert.True(File.Exists(Path.Combine(feed.Folder, $"{id}.{Version}.snupkg")), $"{id} has no symbol package");
            using ZipArchive zip = ZipFile.OpenRead(package);
            XDocument nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            XNamespace ns = nuspec.Root!.GetDefaultNamespace();
            XElement metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value), $"{id} has no description");
            Assert.Contains(zip.Entries, e => e.FullName == "README.md");
            if (id != "skiff")
            {
                Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.dll");
                Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.xml"); // IntelliSense docs
            }
            else
            {
                Assert.Equal("DotnetTool", metadata.Element(ns + "packageTypes")?.Element(ns + "packageType")?.Attribute("name")?.Value);
            }
        }
    }

    [Fact]
    public void The_tool_installs_from_the_packages_and_runs_the_demo()
    {
        string tools = Path.Combine(feed.Root, "tools");
        Dotnet(feed.Root, "tool", "install", "skiff", "--tool-path", tools, "--add-source", feed.Folder, "--version", Version, "--configfile", WriteNuGetConfig(feed.Root));
        ExternalTools.Result demo = ExternalTools.Run(Path.Combine(tools, "skiff"), ["demo", "--bytes", "1M"], timeoutSeconds: 120);
        Assert.True(demo.ExitCode == 0, $"the installed skiff demo exited {demo.ExitCode}: {demo.Output}{demo.Error}");
        Assert.Contains("integrity: ok", demo.Output);
    }

    [Fact]
    public void A_fresh_console_project_runs_two_stacks_from_the_packages()
    {
        string project = Directory.CreateDirectory(Path.Combine(feed.Root, "app")).FullName;
        WriteNuGetConfig(project);
        File.WriteAllText(Path.Combine(project, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Skiff.Engine" Version="{Version}" />
              </ItemGroup>
            </Project>
            """);
        // Two stacks over the in-memory link, the way docs/packages.md shows: B echoes what A sends over TCP.
        File.WriteAllText(Path.Combine(project, "Program.cs"), """
            using System.Security.Cryptography;
            using Skiff;
            using Skiff.Devices;
            using Skiff.Engine;
            using Skiff.Wire;

            using PacketPool poolA = new(4096);
            using PacketPool poolB = new(4096);
            (InMemoryDevice linkA, InMemoryDevice linkB) = InMemoryLink.CreatePair(poolA, poolB);
            SkiffStackOptions Options(byte n) => new() { Mac = new MacAddress(0x02_00_00_00_00_00UL | n), Addresses = [new Ipv4Cidr(new Ipv4Address(10, 0, 0, n), 24)] };
            await using SkiffStack a = SkiffStack.CreateBuilder(Options(1)).UseDevice(linkA).Build();
            await using SkiffStack b = SkiffStack.CreateBuilder(Options(2)).UseDevice(linkB).Build();

            await using SkiffListener listener = b.Listen(7);
            Task echo = Task.Run(async () =>
            {
                await using SkiffConnection server = await listener.AcceptAsync();
                await server.Transport.Input.CopyToAsync(server.Transport.Output);
                await server.Transport.Output.CompleteAsync();
            });
            byte[] sent = RandomNumberGenerator.GetBytes(1 << 20);
            await using SkiffConnection client = await SkiffConnection.ConnectAsync(a, new Ipv4Address(10, 0, 0, 2), 7);
            Task writer = Task.Run(async () =>
            {
                await client.Transport.Output.WriteAsync(sent);
                await client.Transport.Output.CompleteAsync();
            });
            MemoryStream received = new();
            await client.Transport.Input.CopyToAsync(received);
            await writer;
            await echo;
            bool same = SHA256.HashData(sent).AsSpan().SequenceEqual(SHA256.HashData(received.ToArray()));
            Console.WriteLine($"echoed {received.Length} bytes: {(same ? "ok" : "MISMATCH")}");
            return same ? 0 : 1;
            """);
        Dotnet(project, "build", "-c", "Release");
        ExternalTools.Result run = ExternalTools.Run(ServeProcess.Dotnet, [Path.Combine(project, "bin", "Release", "net10.0", "app.dll")], timeoutSeconds: 120);
        Assert.True(run.ExitCode == 0, $"the console project exited {run.ExitCode}: {run.Output}{run.Error}");
        Assert.Contains($"echoed {1 << 20} bytes: ok", run.Output);
    }

    /// <summary>The version every package of this build carries (Directory.Build.props' VersionPrefix).</summary>
    private static string Version => typeof(Program).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.1.0";

    /// <summary>A NuGet.config whose only source is the feed folder; returns its path.</summary>
    private string WriteNuGetConfig(string directory)
    {
        string path = Path.Combine(directory, "NuGet.config");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="skiff" value="{feed.Folder}" />
              </packageSources>
            </configuration>
            """);
        return path;
    }

    private void Dotnet(string directory, params string[] args) => Feed.Dotnet(feed.Cache, directory, args);

    /// <summary>The solution packed once (as the test command built it) into a temporary folder, with a package cache of its own.</summary>
    public sealed class Feed : IDisposable
    {
        public Feed()
        {
            Root = Path.Combine(Path.GetTempPath(), $"skiff-pack-{Guid.NewGuid():N}");
            Folder = Directory.CreateDirectory(Path.Combine(Root, "feed")).FullName;
            Cache = Directory.CreateDirectory(Path.Combine(Root, "cache")).FullName;
            string repository = CliRunner.RepositoryRoot();
            Dotnet(Cache, repository, "pack", Path.Combine(repository, "Skiff.slnx"), "-c", "Release", "--no-build", "-o", Folder);
        }

        public string Root { get; }

        public string Folder { get; }

        public string Cache { get; }

        /// <summary>Runs <c>dotnet ARGS</c> in <paramref name="directory"/> with the package cache <paramref name="cache"/>; fails the test with its output if it fails.</summary>
        public static void Dotnet(string cache, string directory, params string[] args)
        {
            ExternalTools.Result r = ExternalTools.Run("env", [$"NUGET_PACKAGES={cache}", "DOTNET_CLI_TELEMETRY_OPTOUT=1", "DOTNET_NOLOGO=1", "sh", "-c",
                $"cd '{directory}' && exec '{ServeProcess.Dotnet}' \"$@\"", "dotnet", .. args], timeoutSeconds: 600);
            Assert.True(r.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {r.ExitCode}:\n{r.Output}\n{r.Error}");
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
