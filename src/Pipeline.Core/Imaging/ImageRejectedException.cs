namespace Pipeline.Imaging;

/// <summary>Why an image file was refused. The names are stable: they are the <c>error</c> column of errors.parquet.</summary>
public enum ImageErrorKind
{
    /// <summary>The file has no bytes.</summary>
    Empty,
    /// <summary>The bytes start with no known image signature (text, HTML error page, ...).</summary>
    NotAnImage,
    /// <summary>The file ends before its format's end marker (JPEG EOI, PNG IEND) or the decoder ran out of input.</summary>
    Truncated,
    /// <summary>The header or the compressed data is invalid.</summary>
    Corrupt,
    /// <summary>The header's size is over the configured pixel or side limit; nothing was decoded.</summary>
    TooLarge,
    /// <summary>A real image in a format or variant the chosen decoder cannot read.</summary>
    Unsupported,
}

/// <summary>An image the image stage refuses, with the kind of fault and a one-line reason.</summary>
public sealed class ImageRejectedException : Exception
{
    public ImageRejectedException(ImageErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    public ImageErrorKind Kind { get; }

    /// <summary>The stable name of <see cref="Kind"/> for the errors table.</summary>
    public string ErrorName => NameOf(Kind);

    /// <summary>Literal names, so renaming an enum member can never change stored data.</summary>
    public static string NameOf(ImageErrorKind kind) => kind switch
    {
        ImageErrorKind.Empty => "Empty",
        ImageErrorKind.NotAnImage => "NotAnImage",
        ImageErrorKind.Truncated => "Truncated",
        ImageErrorKind.Corrupt => "Corrupt",
        ImageErrorKind.TooLarge => "TooLarge",
        ImageErrorKind.Unsupported => "Unsupported",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
