using System.Security.Cryptography;

namespace Majestix.Fernet;

/// <summary>
/// Thrown when a Fernet token cannot be accepted: it is malformed, was signed with none of the configured keys,
/// has been tampered with, or is outside its time-to-live. The message never says which check failed.
/// </summary>
public sealed class FernetException : CryptographicException
{
    internal const string InvalidTokenMessage = "The Fernet token is invalid.";

    /// <summary>Initializes a new instance with the generic invalid-token message.</summary>
    public FernetException()
        : base(InvalidTokenMessage)
    {
    }

    /// <summary>Initializes a new instance with a custom message.</summary>
    /// <param name="message">The message; it must not reveal which validation step failed.</param>
    public FernetException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a custom message and an inner exception.</summary>
    /// <param name="message">The message; it must not reveal which validation step failed.</param>
    /// <param name="innerException">The underlying exception.</param>
    public FernetException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
