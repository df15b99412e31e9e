using System.Buffers;
using System.IO.Pipelines;

namespace Skiff.Engine.Tests;

/// <summary>Echo servers and client helpers over <see cref="SkiffConnection"/>.</summary>
internal static class Echo
{
    /// <summary>Accepts <paramref name="count"/> connections and echoes each over its pipes until the peer closes.</summary>
    public static async Task ServeAsync(SkiffListener listener, int count, CancellationToken cancellationToken = default)
    {
        List<Task> echoes = [];
        for (int i = 0; i < count; i++)
        {
            SkiffConnection connection = await listener.AcceptAsync(cancellationToken);
            echoes.Add(Task.Run(() => EchoPipeAsync(connection), cancellationToken));
        }
        await Task.WhenAll(echoes);
    }

    public static async Task EchoPipeAsync(SkiffConnection connection)
    {
        PipeReader input = connection.Transport.Input;
        PipeWriter output = connection.Transport.Output;
        while (true)
        {
            ReadResult result = await input.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                output.Write(segment.Span);
            }
            input.AdvanceTo(result.Buffer.End);
            if (!result.Buffer.IsEmpty)
            {
                await output.FlushAsync();
            }
            if (result.IsCompleted)
            {
                break;
            }
        }
        await connection.DisposeAsync();
    }

    /// <summary>Reads the input pipe to its end.</summary>
    public static async Task<byte[]> ReadToEndAsync(PipeReader input)
    {
        MemoryStream all = new();
        while (true)
        {
            ReadResult result = await input.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                all.Write(segment.Span);
            }
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return all.ToArray();
            }
        }
    }
}
