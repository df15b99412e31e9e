namespace Skiff.QDisc.Spec;

/// <summary>A qdisc specification was refused; the message names the offending word and says why and what to write instead.</summary>
/// <param name="message">The sentence for the user: the word, why it was refused, what to write instead.</param>
public sealed class QDiscSpecException(string message) : Exception(message);
