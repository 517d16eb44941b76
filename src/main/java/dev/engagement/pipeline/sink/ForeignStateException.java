package dev.engagement.pipeline.sink;

/**
 * The sink's store holds state built from a different {@code engagement.enriched} topic (another
 * cluster, or the topic was recreated). Its positions and de-duplication marks do not apply, and
 * trusting them would silently skip events, so the sink refuses to write to it.
 */
public class ForeignStateException extends StoreRefusedException {
    public ForeignStateException(String message) {
        super(message);
    }
}
