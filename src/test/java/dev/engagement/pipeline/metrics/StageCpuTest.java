package dev.engagement.pipeline.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class StageCpuTest {
    @Test
    void namesEachPipelineThreadsStage() {
        assertThat(StageCpu.stageOf("engagement-processor-2a9c-StreamThread-1")).isEqualTo("processor");
        assertThat(StageCpu.stageOf("kafka-producer-network-thread | engagement-processor-2a9c-StreamThread-1-producer"))
                .isEqualTo("processor");
        assertThat(StageCpu.stageOf("cdc-source")).isEqualTo("source");
        assertThat(StageCpu.stageOf("kafka-producer-network-thread | cdc-source")).isEqualTo("source");
        assertThat(StageCpu.stageOf("sink-redis")).isEqualTo("redis");
        assertThat(StageCpu.stageOf("lettuce-nioEventLoop-4-1")).isEqualTo("redis");
        assertThat(StageCpu.stageOf("sink-warehouse")).isEqualTo("warehouse");
        assertThat(StageCpu.stageOf("kafka-coordinator-heartbeat-thread | engagement-sink-http")).isEqualTo("http");
        assertThat(StageCpu.stageOf("HttpClient-1-Worker-0")).isEqualTo("http");
        assertThat(StageCpu.stageOf("http-api")).isEqualTo("api");
        assertThat(StageCpu.stageOf("quality-watch")).isEqualTo("processor");
        assertThat(StageCpu.stageOf("telemetry")).isEqualTo("api");
        assertThat(StageCpu.stageOf("kafka-producer-network-thread | telemetry-vm-1")).isEqualTo("api");
        assertThat(StageCpu.stageOf("telemetry-view")).isEqualTo("api");
        assertThat(StageCpu.stageOf("backlog-watch")).isEqualTo("api");
        assertThat(StageCpu.stageOf("Common-Cleaner")).isEqualTo("other");
    }

    @Test
    void countsTheCpuOfAThreadForItsStage() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        StageCpu.bind(registry);
        System.gc(); // the meters hold what they read weakly: it must outlive a collection
        double before = registry.get("pipeline.cpu").tag("stage", "redis").functionCounter().count();
        var done = new java.util.concurrent.CountDownLatch(1);
        Thread busy = new Thread(() -> {
            // 0.3 s of this thread's own CPU, however busy the machine; then alive until counted
            var mx = java.lang.management.ManagementFactory.getThreadMXBean();
            long x = 0;
            while (mx.getCurrentThreadCpuTime() < 300_000_000L) {
                x += System.nanoTime() % 7;
            }
            if (x == 42) {
                System.out.println(x);
            }
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sink-redis");
        busy.start();
        try {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(registry.get("pipeline.cpu").tag("stage", "redis").functionCounter().count() - before)
                            .isGreaterThan(0.25));
        } finally {
            done.countDown();
        }
        assertThat(registry.scrape()).contains("pipeline_cpu_seconds_total{stage=\"redis\"}")
                .contains("jvm_memory_used_bytes{area=\"heap\"");
    }
}
