using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Majestix.GoogleCloud;

internal static class OptionsBuilderExtensions
{
    // Like BindConfiguration, but also works in containers without IConfiguration (dev tools, tests).
    public static OptionsBuilder<T> BindSectionIfPresent<T>(this OptionsBuilder<T> builder, string sectionName)
        where T : class =>
        builder.Configure<IServiceProvider>((options, provider) =>
            provider.GetService<IConfiguration>()?.GetSection(sectionName).Bind(options));
}
