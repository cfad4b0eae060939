using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Pipeline.Cluster.Api;

/// <summary>
/// Who may do what: submit and cancel need the bearer token; reads need it only when <see cref="ApiOptions.ProtectReads"/>.
/// Tokens are compared as SHA-256 digests with <see cref="CryptographicOperations.FixedTimeEquals"/>, so neither the
/// content nor the length of the expected token leaks through timing.
/// </summary>
public sealed class ApiAccess
{
    private readonly byte[]? _expectedDigest;
    private readonly bool _protectReads;

    public ApiAccess(string? token, bool protectReads)
    {
        _expectedDigest = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));
        _protectReads = protectReads;
    }

    public bool WritesEnabled => _expectedDigest is not null;

    public bool Matches(string? presented)
    {
        if (_expectedDigest is null || presented is null) return false;
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), digest);
        return CryptographicOperations.FixedTimeEquals(digest, _expectedDigest);
    }

    /// <summary>The bearer token of a request, or null when it has none.</summary>
    public static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (header.Length <= scheme.Length || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return null;
        return header[scheme.Length..].Trim();
    }

    /// <summary>Null when the request may submit or cancel; otherwise the refusal to send.</summary>
    public IResult? CheckWrite(HttpContext context)
    {
        if (!WritesEnabled)
            return ApiProblems.Problem(StatusCodes.Status403Forbidden, "submitting is disabled",
                "this coordinator has no API token configured (pipeline.api.token, PIPELINE_API_TOKEN or PIPELINE_API_TOKEN_FILE)");
        return CheckToken(context);
    }

    /// <summary>Null when the request may read status and metrics; otherwise the refusal to send.</summary>
    public IResult? CheckRead(HttpContext context) => _protectReads ? CheckToken(context) : null;

    private IResult? CheckToken(HttpContext context)
    {
        var presented = BearerToken(context.Request);
        if (presented is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiProblems.Problem(StatusCodes.Status401Unauthorized, "unauthorized", "this request needs an 'Authorization: Bearer <token>' header");
        }
        if (!Matches(presented))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return ApiProblems.Problem(StatusCodes.Status401Unauthorized, "unauthorized", "the bearer token is not valid");
        }
        return null;
    }
}

/// <summary>Error answers as RFC 9457 problem details: a title and a message, never an exception's details.</summary>
public static class ApiProblems
{
    public static IResult Problem(int status, string title, string detail, IEnumerable<string>? errors = null)
    {
        var extensions = errors is null ? null : new Dictionary<string, object?> { ["errors"] = errors.ToArray() };
        return Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
    }
}
