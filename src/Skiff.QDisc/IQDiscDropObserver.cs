namespace Skiff.QDisc;

/// <summary>
/// Told of every frame a qdisc tree drops (<see cref="QueueDiscipline.ObserveDrops"/>), just before the qdisc frees it: the
/// frame may be read, not kept. Loop thread only; allocates nothing.
/// </summary>
public interface IQDiscDropObserver
{
    /// <summary><paramref name="frame"/> was dropped (a limit, an AQM, a shaper's max_size) and is about to be freed.</summary>
    void OnDropped(PacketBuffer frame);
}
