using System.IO.Pipelines;

namespace Skiff.Engine.Internal;

/// <summary>
/// A <see cref="Stream"/> over a connection's pipes: reads come from the input pipe, writes go to the
/// output pipe and are flushed per call. Disposing it disposes the connection (graceful close).
/// </summary>
internal sealed class DuplexPipeStream : Stream
{
    private readonly SkiffConnection _connection;
    private readonly Stream _read;
    private readonly Stream _write;

    public DuplexPipeStream(SkiffConnection connection, IDuplexPipe pipe)
    {
        _connection = connection;
        _read = pipe.Input.AsStream(leaveOpen: true);
        _write = pipe.Output.AsStream(leaveOpen: true);
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException("A connection stream has no length.");

    public override long Position
    {
        get => throw new NotSupportedException("A connection stream has no position.");
        set => throw new NotSupportedException("A connection stream cannot seek.");
    }

    public override int Read(byte[] buffer, int offset, int count) => _read.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _read.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _read.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _read.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _write.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => _write.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _write.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _write.WriteAsync(buffer, cancellationToken);

    public override void Flush() => _write.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _write.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A connection stream cannot seek.");

    public override void SetLength(long value) => throw new NotSupportedException("A connection stream has no length.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => _connection.DisposeAsync();
}
