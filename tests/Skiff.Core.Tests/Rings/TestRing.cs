using Skiff.Rings;

namespace Skiff.Core.Tests.Rings;

/// <summary>The ring operations both ring types share, so one set of contract tests covers both.</summary>
public interface ITestRing<T>
{
    int Capacity { get; }
    int Count { get; }
    bool TryEnqueue(T item);
    bool TryDequeue(out T item);
    bool EnqueueBulk(ReadOnlySpan<T> items);
    int EnqueueBurst(ReadOnlySpan<T> items);
    bool DequeueBulk(Span<T> destination);
    int DequeueBurst(Span<T> destination);
}

public sealed class SpscTestRing<T>(SpscRing<T> ring) : ITestRing<T>
{
    public int Capacity => ring.Capacity;
    public int Count => ring.Count;
    public bool TryEnqueue(T item) => ring.TryEnqueue(item);
    public bool TryDequeue(out T item) => ring.TryDequeue(out item);
    public bool EnqueueBulk(ReadOnlySpan<T> items) => ring.EnqueueBulk(items);
    public int EnqueueBurst(ReadOnlySpan<T> items) => ring.EnqueueBurst(items);
    public bool DequeueBulk(Span<T> destination) => ring.DequeueBulk(destination);
    public int DequeueBurst(Span<T> destination) => ring.DequeueBurst(destination);
}

public sealed class MpmcTestRing<T>(MpmcRing<T> ring) : ITestRing<T>
{
    public int Capacity => ring.Capacity;
    public int Count => ring.Count;
    public bool TryEnqueue(T item) => ring.TryEnqueue(item);
    public bool TryDequeue(out T item) => ring.TryDequeue(out item);
    public bool EnqueueBulk(ReadOnlySpan<T> items) => ring.EnqueueBulk(items);
    public int EnqueueBurst(ReadOnlySpan<T> items) => ring.EnqueueBurst(items);
    public bool DequeueBulk(Span<T> destination) => ring.DequeueBulk(destination);
    public int DequeueBurst(Span<T> destination) => ring.DequeueBurst(destination);
}
