package dev.engagement.pipeline.telemetry;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Decides from samples whether a stage makes progress. A stage is stalled when its input waits
 * while its position has not moved for {@code stallAfter}, or when it restarted
 * {@link #RESTARTS_IN_WINDOW} times within {@code stallAfter} (a crash loop, which may move a little
 * between crashes). Pure: the caller brings the samples and the time.
 */
public final class StageProgress {
    static final int RESTARTS_IN_WINDOW = 3;

    /**
     * @param position a number that grows whenever the stage consumes input (e.g. the sum of its committed offsets)
     * @param waiting  how much input waits for it (0: nothing, so standing still is fine)
     * @param restarts how many times the stage was restarted since the process started
     */
    public record Sample(long position, long waiting, long restarts) {
    }

    private final long stallAfterMs;
    private final Map<String, State> stages = new HashMap<>();

    private static final class State {
        long position;
        long movingAtMs;
        long restarts;
        final Deque<Long> restartTimes = new ArrayDeque<>();
    }

    public StageProgress(Duration stallAfter) {
        this.stallAfterMs = stallAfter.toMillis();
    }

    /** Records a sample of {@code stage} taken at {@code nowMs}; returns why it is stalled, if it is. */
    public synchronized Optional<String> observe(String stage, Sample sample, long nowMs) {
        State s = stages.get(stage);
        if (s == null) {
            s = new State();
            s.position = sample.position();
            s.movingAtMs = nowMs;
            s.restarts = sample.restarts();
            stages.put(stage, s);
        }
        if (sample.waiting() <= 0 || sample.position() != s.position) {
            s.movingAtMs = nowMs;
        }
        s.position = sample.position();
        for (long r = s.restarts; r < sample.restarts(); r++) {
            s.restartTimes.addLast(nowMs);
        }
        s.restarts = Math.max(s.restarts, sample.restarts());
        while (!s.restartTimes.isEmpty() && nowMs - s.restartTimes.peekFirst() > stallAfterMs) {
            s.restartTimes.removeFirst();
        }
        if (s.restartTimes.size() >= RESTARTS_IN_WINDOW) {
            return Optional.of("restarted " + s.restartTimes.size() + " times in the last " + stallAfterMs / 1000
                    + " s (" + sample.restarts() + " since the process started)");
        }
        long still = nowMs - s.movingAtMs;
        if (still >= stallAfterMs) {
            return Optional.of(sample.waiting() + " waiting and its position has not moved for " + still / 1000 + " s");
        }
        return Optional.empty();
    }
}
