package dev.engagement.pipeline.sink;

/** This instance no longer owns the partition it tried to write: another instance claimed it since. */
public class FencedException extends Exception {
    public FencedException(String message) {
        super(message);
    }
}
