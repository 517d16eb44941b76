package dev.engagement.pipeline.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** Reading this process's own meters back (dashboard, demo progress, benchmark). */
public final class Meters {
    private Meters() {
    }

    /** The sum of a counter over its instances, narrowed to one tag value unless {@code tag} is null. */
    public static double count(MeterRegistry registry, String name, String tag, String value) {
        var search = registry.find(name);
        if (tag != null) {
            search = search.tag(tag, value);
        }
        return search.counters().stream().mapToDouble(Counter::count).sum();
    }
}
