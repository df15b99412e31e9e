// The ASP.NET Core "empty" template with one line added (UseSkiff): Kestrel serves it over Skiff's own TCP/IP stack.
//   dotnet run -c Release --project samples/KestrelHello -- --driver afxdp --iface eth0 --ip 10.0.0.2/24 --port 8080
// The try/catch only turns a configuration or device problem into one sentence instead of a stack trace.
using Skiff.Drivers.Linux;
using Skiff.Kestrel;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.WebHost.UseSkiff(builder.Configuration); // --driver afxdp|afpacket|tap --iface IF --ip A.B.C.D/NN --port PORT (--driver kernel: no Skiff)
    var app = builder.Build();

    app.MapGet("/", () => "Hello, World! (ASP.NET Core on Kestrel over Skiff)\n");
    app.MapGet("/json", () => new Greeting("Hello, World!", "Kestrel over Skiff"));

    app.Run();
    return 0;
}
catch (Exception e) when (e is SkiffTransportException or DriverException)
{
    Console.Error.WriteLine($"KestrelHello: {e.Message}");
    return 2;
}

/// <summary>The body of <c>GET /json</c>.</summary>
internal sealed record Greeting(string Message, string Server);
