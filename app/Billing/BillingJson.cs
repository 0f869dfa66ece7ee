using System.Text.Json.Serialization;

namespace Majestix.InferenceApi.Billing;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(BillingAccount))]
[JsonSerializable(typeof(StripePayment))]
[JsonSerializable(typeof(StripeCheckout))]
[JsonSerializable(typeof(StripeCustomerLink))]
[JsonSerializable(typeof(CheckoutRequest))]
[JsonSerializable(typeof(TopupRequest))]
[JsonSerializable(typeof(CheckoutResponse))]
[JsonSerializable(typeof(PortalResponse))]
[JsonSerializable(typeof(AutoTopupRequest))]
[JsonSerializable(typeof(BillingView))]
[JsonSerializable(typeof(WebhookReceipt))]
internal sealed partial class BillingJson : JsonSerializerContext;
