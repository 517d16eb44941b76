package dev.engagement.pipeline.config;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** The stages one process can run; {@code ./pipeline run --components} picks any subset. */
public enum Component {
    SOURCE, PROCESSOR, REDIS, WAREHOUSE, HTTP, API;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Set<Component> all() {
        return EnumSet.allOf(Component.class);
    }

    public static Component parse(String text) {
        for (Component c : values()) {
            if (c.wire().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown component '" + text.trim()
                + "' (expected source, processor, redis, warehouse, http, api)");
    }
}
