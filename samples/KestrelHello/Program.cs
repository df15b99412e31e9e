// The ASP.NET Core "empty" template with one line added (UseSkiff): Kestrel serves it over Skiff's own TCP/IP stack.
//   dotnet run -c Release --project samples/KestrelHello -- --driver afxdp --iface eth0 --ip 10.0.0.2/24 --port 8080
// The try/catch only turns a configuration or device problem into sentences instead of a stack trace.
// Metrics as ASP.NET Core apps wire them: OpenTelemetry collects the Skiff meter (packets, drops by cause, TCP, pool,
// hooks) beside ASP.NET Core's and Kestrel's; GET /metrics serves them to Prometheus, and setting
// OTEL_EXPORTER_OTLP_ENDPOINT also pushes them over OTLP. `dotnet-counters monitor --counters Skiff -p PID` works too.
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Skiff.Drivers.Linux;
using Skiff.Engine.Metrics;
using Skiff.Kestrel;

try
{
    var builder = WebApplication.CreateBuilder(args);
    // The "Skiff" section (appsettings.json, Skiff__Driver=... in the environment, or these short switches):
    builder.Configuration.AddCommandLine(args, SkiffTransportOptions.CommandLineSwitches());
    builder.WebHost.UseSkiff(builder.Configuration); // --driver afxdp|afpacket|tap --iface IF --ip A.B.C.D/NN --port PORT (--driver kernel: no Skiff)
    builder.Services.AddOpenTelemetry().WithMetrics(metrics =>
    {
        metrics.AddMeter(SkiffMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel");
        metrics.AddPrometheusExporter();
        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            metrics.AddOtlpExporter();
        }
    });
    var app = builder.Build();
    app.MapPrometheusScrapingEndpoint(); // GET /metrics

    app.MapGet("/", () => "Hello, World! (ASP.NET Core on Kestrel over Skiff)\n");
    app.MapGet("/json", () => new Greeting("Hello, World!", "Kestrel over Skiff"));

    app.Run();
    return 0;
}
catch (OptionsValidationException e)
{
    foreach (string failure in e.Failures)
    {
        Console.Error.WriteLine($"KestrelHello: {failure}");
    }
    return 2;
}
catch (Exception e) when (e is SkiffTransportException or DriverException)
{
    Console.Error.WriteLine($"KestrelHello: {e.Message}");
    return 2;
}

/// <summary>The body of <c>GET /json</c>.</summary>
internal sealed record Greeting(string Message, string Server);
