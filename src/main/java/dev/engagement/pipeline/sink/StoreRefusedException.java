package dev.engagement.pipeline.sink;

/**
 * The store cannot keep the sink's promise (a Redis that evicts keys, state built from another
 * topic): the sink refuses to write to it. Not retried quickly: only an operator can fix it.
 */
public class StoreRefusedException extends Exception {
    public StoreRefusedException(String message) {
        super(message);
    }
}
