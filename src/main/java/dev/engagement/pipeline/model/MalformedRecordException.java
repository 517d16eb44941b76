package dev.engagement.pipeline.model;

/** A record whose bytes are not what its topic promises. Carries a short human reason. */
public class MalformedRecordException extends Exception {
    public MalformedRecordException(String message) {
        super(message);
    }

    public MalformedRecordException(String message, Throwable cause) {
        super(message, cause);
    }
}
