namespace Skiff.QDisc.Spec;

/// <summary>A qdisc specification was refused; the message names the offending word and says why and what to write instead.</summary>
public sealed class QDiscSpecException(string message) : Exception(message);
