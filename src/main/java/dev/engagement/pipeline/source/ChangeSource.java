package dev.engagement.pipeline.source;

/**
 * Captures committed changes of {@code content} and {@code engagement_events} into the CDC topics.
 * Behind this interface so a leaner native pgoutput reader can replace the Debezium engine.
 */
public interface ChangeSource extends AutoCloseable {

    void start();

    /** What the source is doing, for /health and logs. */
    SourceStatus status();

    @Override
    void close();

    record SourceStatus(State state, String detail, long lastCommitTsMs) {
    }

    enum State { STARTING, SNAPSHOT, STREAMING, FAILED, STOPPED }
}
