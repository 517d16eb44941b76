package dev.engagement.pipeline.sink;

import java.time.Duration;

/** The sinks' wait between attempts at something that is down: doubling, up to a ceiling. */
final class Backoff {
    static final Duration MAX = Duration.ofSeconds(5);

    private Backoff() {
    }

    static Duration next(Duration current) {
        Duration doubled = current.multipliedBy(2);
        return doubled.compareTo(MAX) > 0 ? MAX : doubled;
    }
}
