using Skiff.Engine;

namespace Skiff.Kestrel;

/// <summary>
/// The Skiff connection under a Kestrel connection, as Kestrel's socket transport offers its Socket through
/// IConnectionSocketFeature: <c>HttpContext.Features.Get&lt;ISkiffConnectionFeature&gt;()</c>.
/// </summary>
public interface ISkiffConnectionFeature
{
    /// <summary>The connection (its endpoints, <see cref="SkiffConnection.NoDelay"/>, <see cref="SkiffConnection.Core"/>).</summary>
    SkiffConnection Connection { get; }
}
