package dev.engagement.pipeline.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * CPU time this process spent, by pipeline stage: {@code pipeline.cpu.seconds{stage}}. Each Java
 * thread counts for the stage its name says (the pipeline names its threads, Kafka names its client
 * threads after the client or group); what the JVM spends outside Java threads (garbage collection,
 * the JIT compiler) counts as {@code jvm}. Deltas are taken per thread between readings, so a thread
 * that ended keeps what it had spent up to the last reading; what it spent after it counts as {@code jvm}.
 */
public final class StageCpu {
    public static final List<String> STAGES = List.of("source", "processor", "redis", "warehouse", "http", "api",
            "other", "jvm");

    /** One per JVM (threads are the JVM's), held here: meters hold what they read only weakly. */
    private static final StageCpu INSTANCE = new StageCpu();

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> lastByThread = new HashMap<>();
    private final Map<String, Long> byStage = new LinkedHashMap<>();
    private long javaThreadsTotal;
    private long lastReadNanos;

    private StageCpu() {
        STAGES.forEach(s -> byStage.put(s, 0L));
    }

    /** Registers the stage meters, and the JVM's and process's own binders, on {@code registry}. */
    @SuppressWarnings("resource") // JvmGcMetrics lives as long as the registry
    public static void bind(MeterRegistry registry) {
        if (registry.find("jvm.memory.used").gauge() != null) {
            return; // bound already (a pipeline started again on the same registry): binding twice would count GC pauses twice
        }
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        StageCpu cpu = INSTANCE;
        if (!cpu.threads.isThreadCpuTimeSupported()) {
            return;
        }
        cpu.threads.setThreadCpuTimeEnabled(true);
        for (String stage : STAGES) {
            FunctionCounter.builder("pipeline.cpu", cpu, c -> c.seconds(stage)).baseUnit("seconds").tag("stage", stage)
                    .description("CPU time this process spent, by stage (jvm: garbage collection and the JIT compiler)")
                    .register(registry);
        }
    }

    /** The stage a thread's CPU counts for, from its name. */
    static String stageOf(String threadName) {
        String n = threadName.toLowerCase(Locale.ROOT);
        if (n.contains("engagement-processor") || n.contains("streamthread") || n.startsWith("processor-")
                || n.startsWith("quality-watch")) {
            return "processor";
        }
        if (n.contains("cdc-") || n.contains("backfill")) {
            return "source";
        }
        if (n.contains("redis") || n.contains("lettuce")) {
            return "redis";
        }
        if (n.contains("warehouse") || n.contains("duckdb") || n.contains("bigquery") || n.contains("grpc")) {
            return "warehouse";
        }
        if (n.contains("sink-http") || n.startsWith("httpclient-")) {
            return "http";
        }
        if (n.startsWith("http-api") || n.startsWith("dashboard") || n.contains("telemetry") || n.startsWith("backlog-watch")) {
            return "api";
        }
        return "other";
    }

    private synchronized double seconds(String stage) {
        long now = System.nanoTime();
        if (now - lastReadNanos > 50_000_000L) { // one reading serves every stage of one scrape
            read();
            lastReadNanos = now;
        }
        return byStage.get(stage) / 1e9;
    }

    private void read() {
        Map<Long, Long> seen = new HashMap<>();
        for (var info : threads.getThreadInfo(threads.getAllThreadIds(), 0)) {
            if (info == null) {
                continue;
            }
            long cpu = threads.getThreadCpuTime(info.getThreadId());
            if (cpu < 0) {
                continue;
            }
            seen.put(info.getThreadId(), cpu);
            long delta = cpu - lastByThread.getOrDefault(info.getThreadId(), 0L);
            if (delta > 0) {
                byStage.merge(stageOf(info.getThreadName()), delta, Long::sum);
                javaThreadsTotal += delta;
            }
        }
        lastByThread.clear();
        lastByThread.putAll(seen);
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            long outside = sun.getProcessCpuTime() - javaThreadsTotal;
            byStage.put("jvm", Math.max(byStage.get("jvm"), outside));
        }
    }
}
