using Skiff.Engine;
using Skiff.Hooks;
using Skiff.Hooks.Bpf;

namespace Skiff.Cli.Serve;

/// <summary>
/// The RX hooks <c>skiff serve</c> installs on every core: one <see cref="BpfDropHook"/> per <c>--drop EXPR</c>, in the
/// order given, and with <c>--echo-hook</c> an <see cref="IcmpEchoResponder"/> for the served address after them.
/// </summary>
internal sealed class ServeHooks(IReadOnlyList<string> dropExpressions, bool echoHook)
{
    private readonly List<BpfFilter> _drops = [];

    /// <summary>Compiles every expression; on a bad one writes libpcap's reason to <paramref name="error"/> and returns false.</summary>
    public bool TryCompile(string command, TextWriter error)
    {
        foreach (string expression in dropExpressions)
        {
            try
            {
                _drops.Add(BpfFilter.Compile(expression));
            }
            catch (BpfCompileException e)
            {
                error.WriteLine($"{command}: --drop '{expression}': {e.Message}");
                return false;
            }
        }
        return true;
    }

    public void AddTo(SkiffEngine engine)
    {
        for (int i = 0; i < _drops.Count; i++)
        {
            engine.RxHooks.Add($"drop: {_drops[i].Expression}", new BpfDropHook(_drops[i]), priority: i);
        }
        if (echoHook)
        {
            engine.RxHooks.Add("echo-responder", new IcmpEchoResponder(engine.Interface.PrimaryAddress), priority: _drops.Count);
        }
    }

    public string Describe()
    {
        string drops = _drops.Count == 0 ? "" : $"; dropping {string.Join(", ", _drops.Select(d => $"'{d.Expression}'"))}";
        return drops + (echoHook ? "; ping answered in an RX hook" : "");
    }
}
