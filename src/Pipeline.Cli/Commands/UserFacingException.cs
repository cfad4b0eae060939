namespace Pipeline.Cli.Commands;

/// <summary>A problem with what the user asked for: printed as one line, without a stack trace (exit code 2).</summary>
public sealed class UserFacingException(string message) : Exception(message)
{
    /// <summary>
    /// An options check of the core library, said in the command line's words: "--scale 2: Scale must be in (0, 1] …",
    /// without .NET's "(Parameter 'Scale')" and "Actual value was 2." tails.
    /// </summary>
    public static UserFacingException FromArgument(ArgumentException e, IReadOnlyDictionary<string, string> optionOfParameter)
    {
        string message = e.Message;
        int tail = e.ParamName is null ? -1 : message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (tail >= 0) message = message[..tail];
        message = message.Split('\n')[0].Trim();
        if (e.ParamName is null || !optionOfParameter.TryGetValue(e.ParamName, out string? option)) return new UserFacingException(message);
        string value = e is ArgumentOutOfRangeException { ActualValue: { } actual }
            ? " " + Convert.ToString(actual, System.Globalization.CultureInfo.InvariantCulture)
            : "";
        return new UserFacingException($"{option}{value}: {message}");
    }
}
