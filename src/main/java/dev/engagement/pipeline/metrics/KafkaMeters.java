package dev.engagement.pipeline.metrics;

import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.Set;

/**
 * Which of the Kafka clients' own meters /metrics keeps. Kafka reports some 2,000 per process
 * (per node, per topic, per partition, per state store); rendering them all made a scrape three
 * times as costly, and a scrape every 100 ms (the benchmark's) took a core. Kept: per client, the
 * few that say whether a client keeps up (lag, throughput, latency, errors, rebalances, the stream
 * threads' work); dropped: the per-node, per-topic and per-partition copies and the rest.
 */
public final class KafkaMeters {
    static final Set<String> KEPT = Set.of(
            "kafka.consumer.fetch.manager.records.lag.max",
            "kafka.consumer.fetch.manager.records.consumed.total",
            "kafka.consumer.fetch.manager.bytes.consumed.total",
            "kafka.consumer.fetch.manager.fetch.latency.avg",
            "kafka.consumer.coordinator.rebalance.total",
            "kafka.consumer.coordinator.failed.rebalance.total",
            "kafka.consumer.coordinator.commit.latency.avg",
            "kafka.consumer.coordinator.assigned.partitions",
            "kafka.consumer.last.poll.seconds.ago",
            "kafka.producer.record.send.total",
            "kafka.producer.record.error.total",
            "kafka.producer.record.retry.total",
            "kafka.producer.request.latency.avg",
            "kafka.producer.batch.size.avg",
            "kafka.producer.compression.rate.avg",
            "kafka.producer.buffer.available.bytes",
            "kafka.producer.txn.commit.time.ns.total",
            "kafka.stream.alive.stream.threads",
            "kafka.stream.failed.stream.threads.total",
            "kafka.stream.thread.process.total",
            "kafka.stream.thread.process.latency.avg",
            "kafka.stream.thread.process.ratio",
            "kafka.stream.thread.commit.total",
            "kafka.stream.thread.commit.latency.avg",
            "kafka.stream.thread.poll.latency.avg",
            "kafka.stream.thread.blocked.time.ns.total",
            "kafka.stream.task.dropped.records.total");

    private KafkaMeters() {
    }

    /** Denies every Kafka client meter but those kept, and every per-partition copy of those. */
    public static MeterFilter filter() {
        return MeterFilter.deny(id -> id.getName().startsWith("kafka.")
                && (!KEPT.contains(id.getName()) || id.getTag("partition") != null || id.getTag("node-id") != null));
    }

    /** The registry a pipeline process exports on /metrics: Prometheus's, with the Kafka filter. */
    public static PrometheusMeterRegistry registry() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().meterFilter(filter());
        return registry;
    }
}
