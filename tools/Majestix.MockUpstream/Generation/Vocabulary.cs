using System.Text.Json;

namespace Majestix.MockUpstream.Generation;

// Every word, emitted with a leading space, is exactly one o200k_base token, and a run of them
// tokenizes to one token per word, so "output tokens = words emitted" holds for any prefix of a
// stream; VocabularyTests checks this with the real tokenizer.
internal static class Vocabulary
{
    public static readonly string[] Words =
    [
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
        "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "they", "you",
        "were", "her", "she", "there", "one", "all", "we", "their", "been", "has", "would", "when", "more",
        "will", "if", "no", "out", "so", "said", "what", "up", "its", "about", "into", "than", "them",
        "can", "only", "other", "new", "some", "time", "could", "these", "two", "may", "then", "do",
        "first", "any", "my", "now", "such", "like", "our", "over", "man", "me", "even", "most", "made",
        "after", "also", "did", "many", "before", "must", "through", "back", "years", "where", "much",
        "your", "way", "well", "down", "should", "because", "each", "just", "those", "people", "how", "too",
        "little", "state", "good", "very", "make", "world", "still", "own", "see", "men", "work", "long",
        "get", "here", "between", "both", "life", "being", "under", "never", "day", "same", "another",
        "know", "while", "last", "might", "us", "great", "old", "year", "off", "come", "since", "against",
        "go", "came", "right", "used", "take", "three", "house", "water", "light", "sound", "voice",
        "music", "field", "river", "city", "point", "place", "group", "story", "word", "line", "name",
        "part", "number", "power", "order", "table", "system", "paper", "letter", "market", "money",
        "office", "night", "morning", "question", "answer", "reason", "result", "friend", "family", "child",
        "mother", "father", "garden", "forest", "mountain", "island", "ocean", "window", "door", "street",
        "road", "bridge", "station", "train", "plane", "ship", "boat", "car", "engine", "machine", "model",
        "data", "value", "signal", "network", "server", "client", "request", "response", "message", "token",
        "stream", "event", "block", "chain", "price", "cost", "credit", "plan", "user", "key", "cache",
        "queue", "task", "agent", "report", "small", "large", "quick", "slow", "bright", "dark", "warm",
        "cold", "happy", "quiet", "loud", "simple", "clear", "early", "late", "green", "blue", "red",
        "white", "black", "yellow", "brown", "silver", "golden", "gentle", "strong", "calm", "fresh", "run",
        "walk", "build", "write", "read", "speak", "think", "learn", "teach", "move", "turn", "start",
        "stop", "open", "close", "carry", "hold", "send", "bring", "keep", "show", "play", "follow",
        "change", "help", "call", "ask", "valley", "meadow", "harbor", "canyon", "desert", "summit",
        "lantern", "compass", "anchor", "beacon", "orbit", "planet", "comet", "galaxy", "crystal", "marble",
        "copper", "timber", "canvas", "ribbon", "thunder", "breeze", "shadow", "echo", "harvest", "journey",
    ];

    /// <summary>" word", pre-escaped for Utf8JsonWriter.</summary>
    public static readonly JsonEncodedText[] Encoded = [.. Words.Select(w => JsonEncodedText.Encode(" " + w))];
}
