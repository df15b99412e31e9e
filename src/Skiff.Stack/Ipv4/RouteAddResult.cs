namespace Skiff.Stack.Ipv4;

/// <summary>What <see cref="RouteTable.Add"/> did.</summary>
public enum RouteAddResult : byte
{
    /// <summary>A new route for a prefix that had none.</summary>
    Added = 0,

    /// <summary>A route for the same prefix existed and was replaced (<c>ip route replace</c>).</summary>
    Replaced = 1,

    /// <summary>The table holds <see cref="RouteTable.Capacity"/> routes; nothing changed and <see cref="RouteTable.RefusedFull"/> was counted.</summary>
    TableFull = 2,
}
