using System.Diagnostics;
using Skiff.Wire.Pcap;
using Xunit.Abstractions;

namespace Skiff.Wire.Tests.Fuzz;

/// <summary>
/// Layer 1 fuzzing (TESTING.md): every parser in Skiff.Wire over a million seeded random and mutated inputs. No parser may
/// throw or loop without bound, and what a parser accepts must round-trip: Emit of the repr into a fresh buffer parses
/// back to the same repr. The seed is fixed (CI replays the same inputs); SKIFF_FUZZ_SEED overrides it and every failure
/// prints the seed, the input number and the input bytes.
/// </summary>
public class ParserFuzzTests(ITestOutputHelper output)
{
    private const long FrameInputs = 5_000_000;
    private const long CaptureInputs = 1_000_000;
    private static readonly TimeSpan s_hangLimit = TimeSpan.FromMinutes(4);

    [Fact]
    public void EveryPacketParser_SurvivesAMillionMutatedFrames_AndRoundTripsWhatItAccepts()
    {
        ulong seed = FuzzSeed.Read();
        long inputs = FuzzSeed.Iterations(FrameInputs);
        IReadOnlyList<Seed> corpus = WireCorpus.Frames();
        FrameCoverage coverage = new();
        FuzzRun run = new(seed);
        Stopwatch clock = Stopwatch.StartNew();
        run.Execute(inputs, s_hangLimit, (long iteration, byte[] buffer) =>
        {
            FuzzRng rng = FuzzRng.ForIteration(seed, iteration);
            int length;
            if (iteration < corpus.Count * 4 * 1600L && iteration % 4 == 0)
            {
                // Truncation at every length of every seed frame, done first and exhaustively.
                long sweep = iteration / 4;
                Seed s = corpus[(int)(sweep % corpus.Count)];
                length = (int)(sweep / corpus.Count);
                if (length > s.Bytes.Length)
                {
                    length = rng.Below(s.Bytes.Length + 1);
                }
                s.Bytes.AsSpan(0, length).CopyTo(buffer);
            }
            else if (rng.Chance(10))
            {
                length = Mutator.Random(ref rng, corpus, buffer, 200);
            }
            else
            {
                length = Mutator.Mutate(ref rng, corpus[rng.Below(corpus.Count)], corpus, buffer);
            }
            bool verify = rng.Chance(50);
            if (verify && rng.Chance(90))
            {
                FrameFields.FixChecksums(buffer.AsSpan(0, length));
            }
            return (length, () => PacketParsers.Run(buffer.AsSpan(0, length), verify, coverage));
        });
        output.WriteLine($"seed 0x{seed:x}: {inputs} frames in {clock.Elapsed.TotalSeconds:F1} s; {coverage}");
        run.ThrowIfFailed();

        // The mutations must reach deep: every parser accepted thousands of inputs and round-tripped them.
        Assert.All(coverage.Accepted(), c => Assert.True(c.Count >= 1000, $"seed 0x{seed:x}: only {c.Count} inputs accepted by {c.Name}; the fuzzer is not reaching it. {coverage}"));
    }

    [Fact]
    public void CaptureReaders_SurviveAMillionMutatedFiles()
    {
        ulong seed = FuzzSeed.Read();
        long inputs = FuzzSeed.Iterations(CaptureInputs);
        IReadOnlyList<Seed> corpus = WireCorpus.Captures();
        long records = 0, opened = 0, errors = 0;
        FuzzRun run = new(seed);
        Stopwatch clock = Stopwatch.StartNew();
        run.Execute(inputs, s_hangLimit, (long iteration, byte[] buffer) =>
        {
            FuzzRng rng = FuzzRng.ForIteration(seed, iteration);
            int length;
            if (rng.Chance(5))
            {
                length = Mutator.Random(ref rng, corpus, buffer, 300);
            }
            else
            {
                Seed s = corpus[rng.Below(corpus.Count)];
                length = Mutator.Mutate(ref rng, s, corpus, buffer);
            }
            return (length, () =>
            {
                (long r, bool o, long e) = ReadCapture(buffer, length);
                records += r;
                opened += o ? 1 : 0;
                errors += e;
            });
        }, bufferBytes: 4096);
        output.WriteLine($"seed 0x{seed:x}: {inputs} capture files in {clock.Elapsed.TotalSeconds:F1} s; {opened} opened, {records} records read, {errors} record errors");
        run.ThrowIfFailed();
        Assert.True(opened > inputs / 4, $"seed 0x{seed:x}: only {opened} of {inputs} mutated files opened");
        Assert.True(records > inputs / 2, $"seed 0x{seed:x}: only {records} records read from {inputs} files");
        Assert.True(errors > inputs / 20, $"seed 0x{seed:x}: only {errors} record errors: the mutations are not reaching the record parsers");
    }

    private static (long Records, bool Opened, long Errors) ReadCapture(byte[] buffer, int length)
    {
        using MemoryStream stream = new(buffer, 0, length, writable: false);
        WireError error = CaptureReader.TryOpen(stream, out ICaptureReader? reader, leaveOpen: true);
        if (reader is null)
        {
            Assert.NotEqual(WireError.Ok, error);
            return (0, false, 0);
        }
        using (reader)
        {
            Assert.Equal(WireError.Ok, error);
            long records = 0, errors = 0;
            // Every call consumes at least four bytes or ends the reader: more calls than that is a loop without progress.
            int bound = length / 4 + 2;
            int calls = 0;
            while (reader.CanContinue)
            {
                if (++calls > bound)
                {
                    throw new FuzzPropertyException($"the capture reader made {calls} calls on {length} bytes without finishing");
                }
                if (reader.TryReadNext(out CaptureRecord record, out WireError recordError))
                {
                    records++;
                    if (record.CapturedLength > length || record.OriginalLength < 0 || record.InterfaceId < 0 || record.InterfaceId >= reader.Interfaces.Count)
                    {
                        throw new FuzzPropertyException($"impossible record: {record.CapturedLength} bytes from a {length}-byte file, original {record.OriginalLength}, interface {record.InterfaceId} of {reader.Interfaces.Count}");
                    }
                    _ = record.Time;
                    _ = record.Data.Length > 0 ? record.Data[^1] : 0;
                }
                else if (recordError != WireError.Ok)
                {
                    errors++;
                }
            }
            return (records, true, errors);
        }
    }
}

/// <summary>A property of accepted input that did not hold (as opposed to an exception thrown by the parser).</summary>
internal sealed class FuzzPropertyException(string message) : Exception(message);

/// <summary>Runs inputs on a worker thread with a hang watchdog; records the first failure of each kind with its seed and bytes.</summary>
internal sealed class FuzzRun(ulong seed)
{
    private readonly List<string> _failures = [];
    private readonly HashSet<string> _kinds = [];
    private long _failed;
    private long _current;

    public void Execute(long inputs, TimeSpan hangLimit, Func<long, byte[], (int Length, Action Run)> next, int bufferBytes = 2048)
    {
        byte[] buffer = new byte[bufferBytes];
        Thread worker = new(() =>
        {
            for (long i = 0; i < inputs; i++)
            {
                Volatile.Write(ref _current, i);
                int length = 0;
                try
                {
                    (length, Action run) = next(i, buffer);
                    run();
                }
                catch (Exception e)
                {
                    Record(i, buffer.AsSpan(0, length), e);
                }
            }
            Volatile.Write(ref _current, -1);
        }, 16 * 1024 * 1024) { IsBackground = true, Name = "fuzz" };
        worker.Start();
        if (!worker.Join(hangLimit))
        {
            long at = Volatile.Read(ref _current);
            Assert.Fail($"Fuzzing hung or crawled: still at input {at} after {hangLimit} (SKIFF_FUZZ_SEED=0x{seed:x}; replay that input alone with FuzzRng.ForIteration(seed, {at})).");
        }
    }

    private void Record(long iteration, ReadOnlySpan<byte> input, Exception e)
    {
        _failed++;
        StackFrame? top = new StackTrace(e, false).GetFrames().FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("Skiff", StringComparison.Ordinal) == true);
        string kind = $"{e.GetType().Name} at {top?.GetMethod()?.DeclaringType?.Name}.{top?.GetMethod()?.Name}: {(e is FuzzPropertyException ? e.Message[..Math.Min(60, e.Message.Length)] : "")}";
        if (_kinds.Add(kind) && _failures.Count < 8)
        {
            _failures.Add($"input {iteration} ({input.Length} bytes) {Convert.ToHexString(input)}\n  {e.ToString().Split('\n').Take(8).Aggregate((a, b) => a + "\n  " + b)}");
        }
    }

    public void ThrowIfFailed()
    {
        if (_failed > 0)
        {
            Assert.Fail($"SKIFF_FUZZ_SEED=0x{seed:x}: {_failed} inputs failed, {_kinds.Count} distinct kinds. First of each:\n{string.Join("\n", _failures)}");
        }
    }
}
