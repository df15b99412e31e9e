using System.Diagnostics;
using Skiff.Engine;

namespace Skiff.Cli.Drivers;

/// <summary>
/// Runs a command's step on an engine's loop, on the command's own thread (<see cref="SkiffEngine.RunOnCallingThread"/>):
/// the engine's pipeline (RX hooks, the stack, TX hooks, the egress) and its idle policy, with the step as one more
/// stage. Between runs the command may use the stack on its thread (open a connection, read counters), since no
/// other thread polls it. What <c>send</c> and <c>fetch</c> run on.
/// </summary>
internal sealed class PollLoop
{
    private readonly StepStage _stage = new();

    public PollLoop(SkiffEngine engine)
    {
        Engine = engine;
        engine.AddStage(_stage);
    }

    public SkiffEngine Engine { get; }

    /// <summary>The engine's time.</summary>
    public Instant Now => Engine.Now;

    /// <summary>The step's answer: whether anything moved (keeps the loop hot) and whether the application is finished.</summary>
    public readonly record struct StepResult(bool Activity, bool Finished);

    /// <summary>Runs the loop with <paramref name="step"/> after every iteration until <paramref name="stop"/> is cancelled (returns false) or the step reports finished (returns true).</summary>
    public bool Run(Func<Instant, StepResult> step, CancellationToken stop)
    {
        _stage.Begin(step);
        try
        {
            bool finished = Engine.RunOnCallingThread(() => _stage.Finished, stop);
            if (finished)
            {
                Engine.RunOnce(); // sends what the step just queued
            }
            return finished;
        }
        finally
        {
            _stage.End();
        }
    }

    /// <summary>Runs until <paramref name="condition"/> (asked once per iteration) holds, the timeout passes or <paramref name="stop"/> is cancelled.</summary>
    public bool RunUntil(Func<bool> condition, TimeSpan timeout, CancellationToken stop)
    {
        long end = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        bool met = false;
        Run(_ =>
        {
            met = condition();
            return new StepResult(false, met || Stopwatch.GetTimestamp() > end);
        }, stop);
        return met;
    }

    /// <summary>The command's step as an engine stage; asks to be run at least every millisecond, since steps wait on wall-clock timeouts too.</summary>
    private sealed class StepStage : IEngineStage
    {
        private Func<Instant, StepResult>? _step;

        public bool Finished { get; private set; }

        public void Begin(Func<Instant, StepResult> step)
        {
            _step = step;
            Finished = false;
        }

        public void End() => _step = null;

        public bool Run(Instant now)
        {
            if (_step is null || Finished)
            {
                return false;
            }
            StepResult r = _step(now);
            Finished = r.Finished;
            return r.Activity;
        }

        public Instant PollAt(Instant now) => _step is null ? Instant.Never : now + Duration.FromMillis(1);
    }
}
