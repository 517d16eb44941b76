package dev.engagement.pipeline.source;

/**
 * Captures committed changes of {@code content} and {@code engagement_events} into the CDC topics.
 * Two implementations write the same topics and envelopes: {@link NativeSource} (the default, the
 * pipeline's own pgoutput reader, exactly once) and {@link DebeziumSource} (the Debezium engine).
 */
public interface ChangeSource extends AutoCloseable {

    void start();

    /** What the source is doing, for /health and logs. */
    SourceStatus status();

    /** Times capture stopped on a failure and was started again since this process started. */
    default long restarts() {
        return 0;
    }

    @Override
    void close();

    record SourceStatus(State state, String detail, long lastCommitTsMs) {
    }

    /**
     * STANDBY: another process holds the slot and captures; this one takes over when it goes.
     * RETRYING: something keeps capture from going on (Kafka away, a failed restart); retried with back-off.
     * FAILED: capture cannot go on without the operator (a lost slot); never retried.
     */
    enum State { STARTING, SNAPSHOT, STREAMING, STANDBY, RETRYING, FAILED, STOPPED }
}
