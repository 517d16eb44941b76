package dev.engagement.pipeline.sink;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;

/**
 * The one way the sinks wait for something that is down: exponential back-off between a first and
 * a longest wait, on an injected clock and sleeper (tests move time by hand, nothing sleeps).
 * A {@link Schedule} is consulted by a poll loop that must keep turning (it never blocks);
 * {@link #until} blocks, for one-off waits before a loop starts.
 */
public final class Retry {
    private static final Logger LOG = LoggerFactory.getLogger(Retry.class);

    /** How a blocking wait passes time. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    public static final Sleeper THREAD_SLEEP = d -> Thread.sleep(Math.max(0, d.toMillis()));

    private final Duration first;
    private final Duration longest;
    private final Clock clock;
    private final Sleeper sleeper;

    public Retry(Duration first, Duration longest, Clock clock, Sleeper sleeper) {
        if (first.isNegative() || first.isZero() || longest.compareTo(first) < 0) {
            throw new IllegalArgumentException("need 0 < first <= longest, but were " + first + " and " + longest);
        }
        this.first = first;
        this.longest = longest;
        this.clock = clock;
        this.sleeper = sleeper;
    }

    /** 100 ms doubling up to 5 s: how the sinks retry a store or broker that is away. */
    public static Retry standard(Clock clock, Sleeper sleeper) {
        return new Retry(Duration.ofMillis(100), Duration.ofSeconds(5), clock, sleeper);
    }

    public Clock clock() {
        return clock;
    }

    public Sleeper sleeper() {
        return sleeper;
    }

    public Schedule schedule() {
        return new Schedule();
    }

    /**
     * Calls {@code call} until it returns, waiting between failures; null once {@code stop} says so.
     *
     * @param what what is being waited for, for the log
     */
    public <T> T until(String what, Callable<T> call, BooleanSupplier stop) throws InterruptedException {
        return until(what, call, stop, InterruptedException.class);
    }

    /** As {@link #until(String, Callable, BooleanSupplier)}, but an exception of type {@code fatal} is thrown at once. */
    public <T, E extends Exception> T until(String what, Callable<T> call, BooleanSupplier stop, Class<E> fatal)
            throws InterruptedException, E {
        Schedule s = schedule();
        while (!stop.getAsBoolean()) {
            try {
                return call.call();
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                if (fatal.isInstance(e)) {
                    throw fatal.cast(e);
                }
                Duration wait = s.failed(e);
                LOG.warn("waiting for {}: {}; trying again in {} ms", what, describe(e), wait.toMillis());
                sleeper.sleep(wait);
            }
        }
        return null;
    }

    static String describe(Throwable e) {
        Throwable t = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /**
     * When to try next after failures: due at once until something fails, then after the current
     * wait, which doubles with each failure up to the longest; a success starts over.
     */
    public final class Schedule {
        private Duration wait = first;
        private Instant dueAt = Instant.MIN;
        private Instant failingSince;
        private int failures;
        private String lastError;

        private Schedule() {
        }

        public boolean due() {
            return !clock.instant().isBefore(dueAt);
        }

        /** Records a failure and returns how long until the next try. */
        public Duration failed(Throwable error) {
            Instant now = clock.instant();
            if (failingSince == null) {
                failingSince = now;
            }
            failures++;
            lastError = describe(error);
            Duration d = wait;
            dueAt = now.plus(d);
            Duration doubled = wait.multipliedBy(2);
            wait = doubled.compareTo(longest) > 0 ? longest : doubled;
            return d;
        }

        public void succeeded() {
            wait = first;
            dueAt = Instant.MIN;
            failingSince = null;
            failures = 0;
            lastError = null;
        }

        public boolean failing() {
            return failingSince != null;
        }

        public Instant failingSince() {
            return failingSince;
        }

        public int failures() {
            return failures;
        }

        public String lastError() {
            return lastError;
        }
    }
}
