using System.IO.Pipelines;

namespace Skiff.Engine.Internal;

/// <summary>The application's two ends of a connection: it reads <see cref="Input"/> and writes <see cref="Output"/>.</summary>
internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}
