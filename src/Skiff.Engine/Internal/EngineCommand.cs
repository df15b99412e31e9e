using Skiff.Stack;

namespace Skiff.Engine.Internal;

/// <summary>A one-off function run on the loop for a control call (listen, bind, diagnostics). Allocates; not for the data path.</summary>
internal sealed class EngineCommand<T>(SkiffEngine engine, Func<Interface, T> func) : EngineWorkItem
{
    private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _done.Task;

    internal override void Execute()
    {
        if (engine.IsStopped)
        {
            _done.TrySetException(engine.StoppedException());
            return;
        }
        try
        {
            _done.TrySetResult(func(engine.Interface));
        }
        catch (Exception e)
        {
            _done.TrySetException(e);
        }
    }
}
