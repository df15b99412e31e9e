namespace Skiff.Engine.Control;

/// <summary>A control socket problem, with a sentence for the user saying what to do.</summary>
public sealed class SkiffControlException(string message, Exception? inner = null) : Exception(message, inner);
