package dev.engagement.pipeline.model;

import java.util.Locale;
import java.util.Optional;

/** The four kinds of engagement the source table allows. */
public enum EventType {
    PLAY, PAUSE, FINISH, CLICK;

    private final String wire = name().toLowerCase(Locale.ROOT);

    public String wire() {
        return wire;
    }

    public static Optional<EventType> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        switch (text) {
            case "play": return Optional.of(PLAY);
            case "pause": return Optional.of(PAUSE);
            case "finish": return Optional.of(FINISH);
            case "click": return Optional.of(CLICK);
            default: return Optional.empty();
        }
    }
}
