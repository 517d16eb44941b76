package dev.engagement.pipeline.testing;

import java.util.Arrays;
import java.util.stream.LongStream;

/**
 * Which of a scenario's five fixed seeds run. Every scenario lists its own five; {@code ./pipeline
 * test} runs the first {@code quick} of them (all five of the short scenarios, fewer of the long
 * ones, so the suite stays within its time), {@code ./pipeline test --all-seeds}
 * ({@code -Dfault.allSeeds=true}) runs every one, and {@code -Dfault.seed=N} runs just N.
 */
public final class Seeds {
    private Seeds() {
    }

    public static LongStream pick(long[] five, int quick) {
        if (five.length != 5) {
            throw new IllegalArgumentException("a scenario lists exactly five seeds");
        }
        String one = System.getProperty("fault.seed");
        if (one != null && !one.isBlank()) {
            return LongStream.of(Long.parseLong(one.strip()));
        }
        return Boolean.getBoolean("fault.allSeeds") ? Arrays.stream(five) : Arrays.stream(five).limit(quick);
    }
}
