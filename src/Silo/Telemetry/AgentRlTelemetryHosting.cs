using AgentRl.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Diagnostics;

namespace AgentRl.Silo.Telemetry;

/// <summary>Puts AgentRl's OpenTelemetry exporters and the Orleans Dashboard into a silo, as <c>AgentRl:Telemetry</c> asks.</summary>
public static class AgentRlTelemetryHosting
{
    /// <summary>Orleans' own meter (grain calls, messaging, activations, …).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>
    /// Adds the exporters the options name. Metrics: the <c>AgentRl</c> and <c>Microsoft.Orleans</c> meters. Traces: the
    /// <c>AgentRl</c> source and Orleans' sources (<c>Microsoft.Orleans.*</c>), with trace context carried across grain
    /// calls (<c>AddActivityPropagation</c>), so a step's spans on other silos nest under it. With no exporter configured
    /// nothing is registered. <paramref name="tracing"/> and <paramref name="metrics"/> add readers or exporters of the
    /// caller's (an in-memory exporter in a test); each turns its signal on.
    /// </summary>
    public static ISiloBuilder AddAgentRlTelemetry(
        this ISiloBuilder builder, AgentRlTelemetryOptions options, Action<TracerProviderBuilder>? tracing = null, Action<MeterProviderBuilder>? metrics = null)
    {
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid AgentRl telemetry options:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        if (options.DashboardPort is { } dashboardPort)
        {
            builder.AddAgentRlDashboard(dashboardPort, options.ListenAddress);
        }

        var withMetrics = options.MetricsEnabled || metrics is not null;
        var withTracing = options.TracingEnabled || tracing is not null;
        if (!withMetrics && !withTracing)
        {
            return builder;
        }

        var otel = builder.Services.AddOpenTelemetry().ConfigureResource(r => r.AddService("agentrl-silo"));
        if (withMetrics)
        {
            otel.WithMetrics(m =>
            {
                m.AddMeter(AgentRlTelemetry.Name, OrleansMeter);
                if (options.PrometheusPort is { } port)
                {
                    m.AddPrometheusHttpListener(o =>
                    {
                        o.Host = options.ListenAddress == "*" ? "*" : options.ListenAddress;
                        o.Port = port;
                        o.ScrapeEndpointPath = "/metrics";
                    });
                }

                if (options.OtlpEndpoint is { } endpoint)
                {
                    m.AddOtlpExporter((exporter, reader) =>
                    {
                        ConfigureOtlp(exporter, options, endpoint, "/v1/metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.ExportIntervalMilliseconds;
                    });
                }

                if (options.Console)
                {
                    m.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.ExportIntervalMilliseconds);
                }

                metrics?.Invoke(m);
            });
        }

        if (withTracing)
        {
            builder.AddActivityPropagation();
            otel.WithTracing(t =>
            {
                t.AddSource(AgentRlTelemetry.Name, ActivitySources.AllActivitySourceName);
                if (options.OtlpEndpoint is { } endpoint)
                {
                    t.AddOtlpExporter(exporter => ConfigureOtlp(exporter, options, endpoint, "/v1/traces"));
                }

                if (options.Console)
                {
                    t.AddConsoleExporter();
                }

                tracing?.Invoke(t);
            });
        }

        return builder;
    }

    /// <summary>gRPC takes the endpoint as given; http/protobuf gets the signal's path when the endpoint has none.</summary>
    private static void ConfigureOtlp(OtlpExporterOptions exporter, AgentRlTelemetryOptions options, string endpoint, string httpPath)
    {
        var uri = new Uri(endpoint);
        if (options.OtlpProtocol == "http/protobuf")
        {
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
            exporter.Endpoint = uri.AbsolutePath is "" or "/" ? new Uri(uri, httpPath) : uri;
        }
        else
        {
            exporter.Protocol = OtlpExportProtocol.Grpc;
            exporter.Endpoint = uri;
        }
    }
}
