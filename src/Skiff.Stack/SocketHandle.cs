namespace Skiff.Stack;

/// <summary>
/// Names a socket in its owner's table. Sockets are pooled, so a handle carries the generation of the
/// socket it was issued for; using it after that socket was released fails instead of reaching a
/// stranger's connection.
/// </summary>
public readonly record struct SocketHandle(int Slot, int Generation)
{
    public override string ToString() => $"socket {Slot}.{Generation}";
}
