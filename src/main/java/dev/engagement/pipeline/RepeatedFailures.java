package dev.engagement.pipeline;

import org.slf4j.Logger;

import java.time.Duration;
import java.util.Objects;

/**
 * Logs a failure once, and the same failure again only as a count, at most once an interval: a
 * stage in a crash loop says what its cause is and how often it recurs, instead of writing the same
 * lines thousands of times a minute and burying everything else. A different cause logs at once.
 */
public final class RepeatedFailures {
    private final Logger log;
    private final long intervalNanos;
    private String lastCause;
    private long lastLoggedNanos;
    private long suppressed;

    public RepeatedFailures(Logger log, Duration interval) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
    }

    /** Logs {@code what} and the cause, unless the same cause was logged within the interval. */
    public synchronized void log(String what, Throwable cause, boolean error) {
        String key = what + ": " + rootMessage(cause);
        long now = System.nanoTime();
        if (key.equals(lastCause) && now - lastLoggedNanos < intervalNanos) {
            suppressed++;
            return;
        }
        String again = key.equals(lastCause) && suppressed > 0
                ? " (again; " + suppressed + " more times since it was last logged)" : "";
        if (error) {
            log.error("{}: {}{}", what, rootMessage(cause), again, key.equals(lastCause) ? null : cause);
        } else {
            log.warn("{}: {}{}", what, rootMessage(cause), again);
        }
        lastCause = key;
        lastLoggedNanos = now;
        suppressed = 0;
    }

    static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == t ? String.valueOf(t.getMessage())
                : t.getMessage() + " (cause: " + Objects.toString(root.getMessage(), root.getClass().getSimpleName()) + ")";
    }
}
