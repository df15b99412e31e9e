namespace Skiff.Stack;

/// <summary>
/// Names a socket in its owner's table. Sockets are pooled, so a handle carries the generation of the
/// socket it was issued for; using it after that socket was released fails instead of reaching a
/// stranger's connection.
/// </summary>
/// <param name="Slot">Index of the socket in its owner's table.</param>
/// <param name="Generation">The slot's generation when the handle was issued; it advances each time the slot is released.</param>
public readonly record struct SocketHandle(int Slot, int Generation)
{
    /// <summary>The handle as <c>socket SLOT.GENERATION</c>, for logs.</summary>
    public override string ToString() => $"socket {Slot}.{Generation}";
}
