package dev.engagement.pipeline;


import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * How long work is coming along, on standard error: on a terminal a bar redrawn five times a
 * second with the count, the rate and the time left; otherwise (a log, a pipe, CI) a plain line
 * every 5 seconds. The measure is a count with a known total, a length of time, or a count alone.
 */
public final class Progress implements LongConsumer, AutoCloseable {
    private static final int BAR = 24;
    private static final long TERMINAL_EVERY_NS = 200_000_000L;
    private static final long PLAIN_EVERY_NS = 5_000_000_000L;

    private final String label;
    private final String unit;
    private volatile long total;
    private final long lengthNanos;
    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier nanos;
    private final long startNanos;
    private volatile long done;
    private long lastPrint;
    private ScheduledExecutorService ticker;
    private boolean closed;

    Progress(String label, String unit, long total, Duration length, PrintStream out, boolean terminal, LongSupplier nanos) {
        this.label = label;
        this.unit = unit;
        this.total = total;
        this.lengthNanos = length == null ? 0 : length.toNanos();
        this.out = out;
        this.terminal = terminal;
        this.nanos = nanos;
        this.startNanos = nanos.getAsLong();
        this.lastPrint = startNanos;
    }

    /** A count of {@code unit} towards {@code total} ({@code total <= 0}: unknown), shown until closed. */
    public static Progress of(String label, String unit, long total) {
        return start(new Progress(label, unit, total, null, System.err, onTerminal(), System::nanoTime));
    }

    /** A count of {@code unit} over a known length of time. */
    public static Progress timed(String label, String unit, Duration length) {
        return start(new Progress(label, unit, 0, length, System.err, onTerminal(), System::nanoTime));
    }

    private static Progress start(Progress p) {
        p.ticker = Executors.newSingleThreadScheduledExecutor(Threads.daemon("progress"));
        p.ticker.scheduleAtFixedRate(p::tick, 200, 200, TimeUnit.MILLISECONDS);
        return p;
    }

    /** A terminal that can redraw a line: a console, and not TERM=dumb. */
    public static boolean onTerminal() {
        return System.console() != null && !"dumb".equals(System.getenv("TERM"));
    }

    /** The total, once it is known ({@code <= 0}: unknown). */
    public void total(long n) {
        total = n;
    }

    /** How many are done so far (not an increment). */
    @Override
    public void accept(long doneSoFar) {
        done = doneSoFar;
    }

    /** Prints when due: every 200 ms on a terminal, every 5 s otherwise. */
    synchronized void tick() {
        if (closed) {
            return;
        }
        long now = nanos.getAsLong();
        if (now - lastPrint < (terminal ? TERMINAL_EVERY_NS : PLAIN_EVERY_NS)) {
            return;
        }
        lastPrint = now;
        if (terminal) {
            out.print("\r" + bar(now) + "\033[K");
        } else {
            out.println(line(now));
        }
        out.flush();
    }

    /** The fraction done, from the count's total or the time's length; negative when neither is known. */
    double fraction(long now) {
        if (total > 0) {
            return Math.min(1, done / (double) total);
        }
        if (lengthNanos > 0) {
            return Math.min(1, (now - startNanos) / (double) lengthNanos);
        }
        return -1;
    }

    /** Seconds left, or -1 when they cannot be told yet. */
    long secondsLeft(long now) {
        long elapsed = now - startNanos;
        if (total > 0) {
            if (done <= 0) {
                return -1;
            }
            return Math.max(0, Math.round((total - done) * (elapsed / (double) done) / 1e9));
        }
        if (lengthNanos > 0) {
            return Math.max(0, (lengthNanos - elapsed + 999_999_999L) / 1_000_000_000L);
        }
        return -1;
    }

    double rate(long now) {
        double secs = (now - startNanos) / 1e9;
        return secs <= 0 ? 0 : done / secs;
    }

    /** The plain line: {@code backfill: 12,000 of 50,000 events (24 %), 3,100/s, 12 s left}. */
    String line(long now) {
        StringBuilder b = new StringBuilder(label).append(": ").append(String.format(Locale.ROOT, "%,d", done));
        if (total > 0) {
            b.append(String.format(Locale.ROOT, " of %,d", total));
        }
        b.append(' ').append(unit);
        double f = fraction(now);
        if (f >= 0) {
            b.append(String.format(Locale.ROOT, " (%d %%)", (int) Math.floor(f * 100)));
        }
        b.append(String.format(Locale.ROOT, ", %,.0f/s", rate(now)));
        long left = secondsLeft(now);
        if (left >= 0) {
            b.append(", ").append(clock(left)).append(" left");
        }
        return b.toString();
    }

    /** The terminal's bar: {@code backfill [######------------------]  24 % 12,000/50,000 events 3,100/s ETA 0:12}. */
    String bar(long now) {
        double f = fraction(now);
        StringBuilder b = new StringBuilder(label).append(' ');
        if (f >= 0) {
            int filled = (int) Math.round(f * BAR);
            b.append('[').append("#".repeat(filled)).append("-".repeat(BAR - filled)).append(']')
                    .append(String.format(Locale.ROOT, " %3d %%", (int) Math.floor(f * 100)));
        }
        b.append(String.format(Locale.ROOT, " %,d", done));
        if (total > 0) {
            b.append(String.format(Locale.ROOT, "/%,d", total));
        }
        b.append(' ').append(unit).append(String.format(Locale.ROOT, " %,.0f/s", rate(now)));
        long left = secondsLeft(now);
        if (left >= 0) {
            b.append(" ETA ").append(clock(left));
        }
        return b.toString();
    }

    private static String clock(long seconds) {
        return seconds >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
                : String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
    }

    /** Stops the updates; a terminal's bar is finished with a newline. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ticker != null) {
            ticker.shutdownNow();
        }
        if (terminal) {
            out.print("\r" + bar(nanos.getAsLong()) + "\033[K");
            out.println();
            out.flush();
        }
    }
}
