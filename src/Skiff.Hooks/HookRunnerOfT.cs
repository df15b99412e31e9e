namespace Skiff.Hooks;

/// <summary>The runner of a struct hook: a loop the JIT specialises for <typeparamref name="THook"/>, so the hook's code is inlined.</summary>
public sealed class HookRunner<THook> : HookRunner
    where THook : struct, IPacketHook
{
    private THook _hook;

    internal HookRunner(string name, int priority, long id, THook hook)
        : base(name, priority, id) => _hook = hook;

    /// <inheritdoc />
    public override void Run(ReadOnlySpan<PacketBuffer> frames, Span<HookResult> results, ref HookContext context)
    {
        long pass = 0, drop = 0, tx = 0, redirect = 0, abort = 0;
        for (int i = 0; i < frames.Length; i++)
        {
            ref HookResult result = ref results[i];
            if (result.Verdict != HookVerdict.Pass)
            {
                continue;
            }
            HookVerdict verdict = _hook.Process(frames[i], ref context);
            result.Verdict = verdict;
            switch (verdict)
            {
                case HookVerdict.Pass:
                    pass++;
                    break;
                case HookVerdict.Drop:
                    drop++;
                    break;
                case HookVerdict.Tx:
                    tx++;
                    break;
                case HookVerdict.Redirect:
                    result.RedirectPort = context.RedirectPort;
                    result.RedirectQueue = context.RedirectQueue;
                    redirect++;
                    break;
                default:
                    result.Verdict = HookVerdict.Abort; // an undefined value is a failed program
                    abort++;
                    break;
            }
        }
        HookCounters c = Counters;
        c.Add(HookVerdict.Pass, pass);
        c.Add(HookVerdict.Drop, drop);
        c.Add(HookVerdict.Tx, tx);
        c.Add(HookVerdict.Redirect, redirect);
        c.Add(HookVerdict.Abort, abort);
    }
}
