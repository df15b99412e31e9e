namespace Skiff.Stack.Tcp.Internal;

/// <summary>
/// 4-tuple to a socket slot (or, past the slots, a TIME-WAIT record): open addressing with linear probing and backward-shift deletion (no
/// tombstones, so lookups stay short after churn). Fixed capacity, allocated once; at most half full
/// because the layer never holds more connections and TIME-WAIT records than half the slots. Not thread-safe.
/// </summary>
internal sealed class ConnectionTable
{
    private readonly TcpTuple[] _keys;
    private readonly int[] _slots; // socket slot + 1; 0 = empty
    private readonly int _mask;

    public ConnectionTable(int maxEntries)
    {
        int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, maxEntries * 2));
        _keys = new TcpTuple[capacity];
        _slots = new int[capacity];
        _mask = capacity - 1;
    }

    public int Count { get; private set; }

    /// <summary>The socket slot of <paramref name="key"/>, or -1.</summary>
    public int Find(in TcpTuple key)
    {
        int i = key.TableHash() & _mask;
        while (_slots[i] != 0)
        {
            if (_keys[i] == key)
            {
                return _slots[i] - 1;
            }
            i = (i + 1) & _mask;
        }
        return -1;
    }

    /// <summary>Adds <paramref name="key"/>; false if it is already present.</summary>
    public bool TryAdd(in TcpTuple key, int slot)
    {
        if (Count * 2 >= _keys.Length)
        {
            return false;
        }
        int i = key.TableHash() & _mask;
        while (_slots[i] != 0)
        {
            if (_keys[i] == key)
            {
                return false;
            }
            i = (i + 1) & _mask;
        }
        _keys[i] = key;
        _slots[i] = slot + 1;
        Count++;
        return true;
    }

    /// <summary>Points <paramref name="key"/>, which must be present, at <paramref name="slot"/>; false if it is absent.</summary>
    public bool Set(in TcpTuple key, int slot)
    {
        int i = key.TableHash() & _mask;
        while (_slots[i] != 0)
        {
            if (_keys[i] == key)
            {
                _slots[i] = slot + 1;
                return true;
            }
            i = (i + 1) & _mask;
        }
        return false;
    }

    /// <summary>Removes <paramref name="key"/> if present.</summary>
    public bool Remove(in TcpTuple key)
    {
        int i = key.TableHash() & _mask;
        while (_slots[i] != 0)
        {
            if (_keys[i] == key)
            {
                // Backward-shift deletion: pull later entries of the probe run into the hole when their
                // home position lies at or before it.
                int hole = i;
                int j = (i + 1) & _mask;
                while (_slots[j] != 0)
                {
                    int home = _keys[j].TableHash() & _mask;
                    bool movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
                    if (movable)
                    {
                        _keys[hole] = _keys[j];
                        _slots[hole] = _slots[j];
                        hole = j;
                    }
                    j = (j + 1) & _mask;
                }
                _keys[hole] = default;
                _slots[hole] = 0;
                Count--;
                return true;
            }
            i = (i + 1) & _mask;
        }
        return false;
    }
}
