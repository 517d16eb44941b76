package dev.engagement.pipeline;

import net.logstash.logback.argument.StructuredArgument;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import static net.logstash.logback.argument.StructuredArguments.v;

/**
 * Names events in the log as JSON fields ({@code event_id}, {@code content_id}) as well as in the
 * message, and keeps per-event lines from flooding the log: a {@link Limit} lets through a few a
 * second and counts what it held back, so the next line can say how many.
 */
public final class EventLog {
    private EventLog() {
    }

    /** The event id as a field and, where the message has a {@code {}}, as text; null stays "none". */
    public static StructuredArgument eventId(Long id) {
        return v("event_id", id);
    }

    public static StructuredArgument contentId(String id) {
        return v("content_id", id);
    }

    /** At most {@code perSecond} lines a second; the rest are counted, not written. */
    public static final class Limit {
        private final int perSecond;
        private final LongSupplier nanos;
        private final AtomicLong held = new AtomicLong();
        private long second = Long.MIN_VALUE;
        private int used;

        public Limit(int perSecond) {
            this(perSecond, System::nanoTime);
        }

        Limit(int perSecond, LongSupplier nanos) {
            this.perSecond = perSecond;
            this.nanos = nanos;
        }

        /** May one more line be written now? If not, it is counted as held back. */
        public synchronized boolean allow() {
            long s = nanos.getAsLong() / 1_000_000_000L;
            if (s != second) {
                second = s;
                used = 0;
            }
            if (used < perSecond) {
                used++;
                return true;
            }
            held.incrementAndGet();
            return false;
        }

        /** Lines held back since the last call, to be reported with the next line written. */
        public long takeHeld() {
            return held.getAndSet(0);
        }
    }
}
