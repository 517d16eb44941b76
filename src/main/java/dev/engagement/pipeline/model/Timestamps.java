package dev.engagement.pipeline.model;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** Timestamp forms used across the pipeline: ISO-8601 UTC text on the wire. */
public final class Timestamps {
    private static final DateTimeFormatter MINUTE = DateTimeFormatter.ofPattern("yyyyMMddHHmm").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter FIXED_MILLIS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private Timestamps() {
    }

    /** Parses ISO-8601 with an offset (Debezium's ZonedTimestamp form) into an instant. */
    public static Instant parse(String text) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            return java.time.OffsetDateTime.parse(text).toInstant();
        }
    }

    /** Normalised UTC text: "2025-08-10T14:30:20Z", fractional digits only where present. */
    public static String iso(Instant instant) {
        return instant.toString();
    }

    /** Fixed-width UTC text with milliseconds, which sorts as text in time order. */
    public static String fixedMillis(Instant instant) {
        return FIXED_MILLIS.format(instant);
    }

    /** The UTC minute bucket of an instant: "202508101430". */
    public static String minute(Instant instant) {
        return MINUTE.format(instant);
    }

    public static long epochMicros(Instant instant) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1000);
    }
}
