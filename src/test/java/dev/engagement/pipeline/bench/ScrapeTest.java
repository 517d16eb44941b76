package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.metrics.Latency;
import dev.engagement.pipeline.metrics.StageCpu;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.NavigableMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ScrapeTest {
    @Test
    void readsCountersByLabelAndLatencyPercentilesOverAWindowFromAPrometheusPage() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        StageCpu.bind(registry);
        registry.counter("pipeline.sink.events", "sink", "redis").increment(7);
        registry.counter("pipeline.sink.events", "sink", "warehouse").increment(3);
        var timer = Latency.timer(registry, "redis");
        for (int i = 0; i < 100; i++) {
            timer.record(500, TimeUnit.MILLISECONDS); // before the window: must not count
        }
        ChildPipeline.Scrape before = ChildPipeline.Scrape.parse(registry.scrape());
        for (int i = 1; i <= 100; i++) {
            timer.record(i, TimeUnit.MILLISECONDS); // 1..100 ms
        }
        ChildPipeline.Scrape after = ChildPipeline.Scrape.parse(registry.scrape());

        assertThat(after.sum("pipeline_sink_events_total", "sink", "redis")).isEqualTo(7);
        assertThat(after.sum("pipeline_sink_events_total", null, null)).isEqualTo(10);
        assertThat(after.byLabel("pipeline_cpu_seconds_total", "stage")).containsKeys("source", "processor", "jvm");
        assertThat(after.sum("jvm_memory_used_bytes", "area", "heap")).isPositive();
        NavigableMap<Double, Double> a = before.buckets("pipeline_end_to_end_latency_seconds", "stage", "redis");
        NavigableMap<Double, Double> b = after.buckets("pipeline_end_to_end_latency_seconds", "stage", "redis");
        // 50 of the 100 window values are <= 50 ms: the median falls on the 50 ms bucket's upper bound
        assertThat(Benchmark.percentileMs(a, b, 0.50)).isCloseTo(50, within(0.01));
        // the 99th value lies in the (80, 100] bucket, 19 of 20 into it
        assertThat(Benchmark.percentileMs(a, b, 0.99)).isCloseTo(99, within(0.01));
        assertThat(Benchmark.percentileMs(b, b, 0.99)).isNaN();
    }
}
