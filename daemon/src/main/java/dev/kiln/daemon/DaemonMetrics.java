package dev.kiln.daemon;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;

/**
 * {@code GET /metrics}: the daemon's state in Prometheus text format, names prefixed {@code kiln_}.
 * Gauges and the counters of {@link Runs} are read when scraped (callbacks), so nothing on an
 * instance's path updates a metric; only the request counter is incremented as requests come.
 */
final class DaemonMetrics {
    static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Counter requests;

    DaemonMetrics() {
        requests = Counter.builder().name("kiln_api_requests_total").help("API requests answered, by method and status")
                .labelNames("method", "status").register(registry);
    }

    /** Registers the callbacks that read the hosted instances and their runs. */
    void watch(Roster roster, Runs runs, ImageStore images, HostCapacity capacity) {
        GaugeWithCallback.builder().name("kiln_instances").help("Instances by state").labelNames("state")
                .callback(cb -> {
                    Map<HostedState, Integer> n = new EnumMap<>(HostedState.class);
                    for (HostedState s : HostedState.values()) n.put(s, 0);
                    for (Hosted h : roster.all()) n.merge(h.state, 1, Integer::sum);
                    n.forEach((s, c) -> cb.call(c, s.label()));
                }).register(registry);
        CounterWithCallback.builder().name("kiln_boots_total").help("Instance runs started (fresh boots and clones)")
                .callback(cb -> cb.call(runs.boots.get())).register(registry);
        CounterWithCallback.builder().name("kiln_exits_total").help("Instance runs ended, by how: halted, faulted, stopped")
                .labelNames("kind").callback(cb -> runs.exitsByKind.forEach((k, v) -> cb.call(v.get(), k))).register(registry);
        CounterWithCallback.builder().name("kiln_console_bytes_total").help("Console bytes written by guests")
                .callback(cb -> {
                    long live = 0;
                    for (Hosted h : roster.all()) {
                        synchronized (h) {
                            if (h.state.live() && h.current != null) live += h.current.stats().consoleBytes();
                        }
                    }
                    cb.call(runs.consoleBytesEnded.get() + live);
                }).register(registry);
        GaugeWithCallback.builder().name("kiln_memory_reserved_bytes").help("Guest memory reserved by live instances")
                .callback(cb -> cb.call(runs.memoryReserved())).register(registry);
        GaugeWithCallback.builder().name("kiln_memory_budget_bytes").help("Guest memory the daemon admits instances against")
                .callback(cb -> cb.call(capacity.budgetBytes())).register(registry);
        GaugeWithCallback.builder().name("kiln_images").help("Registered images")
                .callback(cb -> cb.call(images.all().size())).register(registry);
    }

    void request(String method, int status) {
        requests.labelValues(method, Integer.toString(status)).inc();
    }

    byte[] scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writer.write(out, registry.scrape(), EscapingScheme.ALLOW_UTF8);
        return out.toByteArray();
    }
}
