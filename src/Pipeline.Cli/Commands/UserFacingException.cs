namespace Pipeline.Cli.Commands;

/// <summary>A problem with what the user asked for: printed as one line, without a stack trace.</summary>
public sealed class UserFacingException(string message) : Exception(message);
