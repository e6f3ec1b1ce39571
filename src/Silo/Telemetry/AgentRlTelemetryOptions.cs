namespace AgentRl.Silo.Telemetry;

/// <summary>
/// Where a silo sends its OpenTelemetry metrics and traces, and whether it serves the Orleans Dashboard. Section
/// <c>AgentRl:Telemetry</c>. Everything is off by default: with no exporter the silo registers no OpenTelemetry provider
/// and no tracing grain-call filter, so AgentRl's instruments have no listener and cost a check each.
/// </summary>
public sealed class AgentRlTelemetryOptions
{
    public const string SectionName = "AgentRl:Telemetry";

    /// <summary>OTLP collector endpoint for metrics and traces, e.g. <c>http://127.0.0.1:4317</c>. Default none.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (default, port 4317 by convention) or <c>http/protobuf</c> (4318; <c>/v1/traces</c> and <c>/v1/metrics</c> are appended to an endpoint with no path).</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>Port of a Prometheus scrape endpoint (<c>http://{ListenAddress}:{port}/metrics</c>). Default none.</summary>
    public int? PrometheusPort { get; set; }

    /// <summary>Writes metrics and spans to the silo's standard output. Default <c>false</c>.</summary>
    public bool Console { get; set; }

    /// <summary>Port of the Orleans Dashboard web page (<c>http://{ListenAddress}:{port}/</c>). Default none.</summary>
    public int? DashboardPort { get; set; }

    /// <summary>
    /// Address the Prometheus endpoint and the dashboard listen on: <c>127.0.0.1</c> (default, this machine only), another
    /// IP address, or <c>*</c> for every interface (containers, where Prometheus scrapes the pod's address).
    /// </summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>How often metrics are pushed to OTLP or the console, in milliseconds. Default 10000.</summary>
    public int ExportIntervalMilliseconds { get; set; } = 10_000;

    /// <summary>Whether a metrics exporter is configured (OTLP, Prometheus or console).</summary>
    public bool MetricsEnabled => OtlpEndpoint is not null || PrometheusPort is not null || Console;

    /// <summary>Whether a trace exporter is configured (OTLP or console; Prometheus takes metrics only).</summary>
    public bool TracingEnabled => OtlpEndpoint is not null || Console;

    public static readonly string[] KnownOtlpProtocols = ["grpc", "http/protobuf"];

    /// <summary>Returns every problem with these options, or none.</summary>
    public IEnumerable<string> Validate()
    {
        if (OtlpEndpoint is not null && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return $"{SectionName}:OtlpEndpoint must be an absolute http:// or https:// address (got '{OtlpEndpoint}').";
        }

        if (!KnownOtlpProtocols.Contains(OtlpProtocol))
        {
            yield return $"{SectionName}:OtlpProtocol must be {string.Join(" or ", KnownOtlpProtocols)} (got '{OtlpProtocol}').";
        }

        foreach (var (key, port) in new[] { ("PrometheusPort", PrometheusPort), ("DashboardPort", DashboardPort) })
        {
            if (port is < 1 or > 65535)
            {
                yield return $"{SectionName}:{key} must be a TCP port from 1 to 65535 (got {port}).";
            }
        }

        if (PrometheusPort is not null && PrometheusPort == DashboardPort)
        {
            yield return $"{SectionName}:PrometheusPort and DashboardPort must differ (both {PrometheusPort}).";
        }

        if (ListenAddress != "*" && !System.Net.IPAddress.TryParse(ListenAddress, out _))
        {
            yield return $"{SectionName}:ListenAddress must be an IP address or * (got '{ListenAddress}').";
        }

        if (ExportIntervalMilliseconds < 100)
        {
            yield return $"{SectionName}:ExportIntervalMilliseconds must be at least 100 (got {ExportIntervalMilliseconds}).";
        }
    }
}
