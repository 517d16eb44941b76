package dev.engagement.pipeline.source.pg;

import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;

/**
 * One column value, as PostgreSQL's output function wrote it (pgoutput's text tuples, COPY's text
 * rows), written as the CDC envelope's JSON in the form the Debezium source gives it
 * ({@code decimal.handling.mode=string}, adaptive time precision): integers and booleans as JSON,
 * json/jsonb embedded as JSON, timestamptz as ISO-8601 UTC with microseconds, timestamp as epoch
 * microseconds, date as epoch days, numeric and everything else as a string.
 */
final class PgValues {
    static final int BOOL = 16;
    static final int INT8 = 20;
    static final int INT2 = 21;
    static final int INT4 = 23;
    static final int OID = 26;
    static final int JSON = 114;
    static final int FLOAT4 = 700;
    static final int FLOAT8 = 701;
    static final int DATE = 1082;
    static final int TIMESTAMP = 1114;
    static final int TIMESTAMPTZ = 1184;
    static final int JSONB = 3802;
    /** What the Debezium source writes for an unchanged TOASTed value that the WAL does not carry. */
    static final String UNAVAILABLE = dev.engagement.pipeline.model.CdcCodec.UNCHANGED_TOAST;

    private static final DateTimeFormatter PG_TIMESTAMPTZ = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 1, 9, true).optionalEnd()
            .appendOffset("+HH:mm:ss", "+00").toFormatter();
    private static final DateTimeFormatter PG_TIMESTAMP = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 1, 9, true).optionalEnd().toFormatter();
    private static final DateTimeFormatter ISO_MICROS = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd'T'HH:mm:ss").appendFraction(ChronoField.NANO_OF_SECOND, 6, 6, true)
            .appendLiteral('Z').toFormatter();

    private PgValues() {
    }

    static void write(JsonBytes out, int type, byte[] b, int off, int n) {
        switch (type) {
            case INT2, INT4, INT8, OID -> out.raw(b, off, n);
            case BOOL -> out.ascii(n == 1 && b[off] == 't' ? "true" : "false");
            case JSON, JSONB -> out.raw(b, off, n);
            case FLOAT4, FLOAT8 -> {
                if (numeric(b, off, n)) {
                    out.raw(b, off, n);
                } else {
                    out.string(b, off, n); // NaN, Infinity
                }
            }
            case TIMESTAMPTZ -> timestampTz(out, b, off, n);
            case TIMESTAMP -> slow(out, b, off, n, s -> {
                LocalDateTime t = LocalDateTime.parse(s, PG_TIMESTAMP);
                long seconds = t.toEpochSecond(ZoneOffset.UTC);
                return Long.toString(Math.addExact(Math.multiplyExact(seconds, 1_000_000L), t.getNano() / 1000));
            });
            case DATE -> slow(out, b, off, n, s -> Long.toString(LocalDate.parse(s).toEpochDay()));
            default -> out.string(b, off, n);
        }
    }

    /**
     * {@code 2025-08-10 14:30:20.12+00} (the replication and copy sessions run with TimeZone=UTC) as
     * {@code 2025-08-10T14:30:20.120000Z}, without parsing; any other form through java.time.
     */
    static void timestampTz(JsonBytes out, byte[] b, int off, int n) {
        if (n >= 22 && n <= 29 && b[off + 4] == '-' && b[off + 10] == ' ' && b[off + 13] == ':' && b[off + 16] == ':'
                && b[off + n - 3] == '+' && b[off + n - 2] == '0' && b[off + n - 1] == '0'
                && (n == 22 || b[off + 19] == '.')) {
            out.ascii('"').raw(b, off, 10).ascii('T').raw(b, off + 11, 8).ascii('.');
            int digits = n == 22 ? 0 : n - 23;
            out.raw(b, off + 20, digits);
            for (int i = digits; i < 6; i++) {
                out.ascii('0');
            }
            out.ascii("Z\"");
            return;
        }
        String s = new String(b, off, n, StandardCharsets.UTF_8);
        try {
            out.string(ISO_MICROS.format(OffsetDateTime.parse(s, PG_TIMESTAMPTZ).withOffsetSameInstant(ZoneOffset.UTC)));
        } catch (DateTimeParseException e) {
            out.string(s); // infinity, BC dates: as PostgreSQL wrote them
        }
    }

    private interface Conversion {
        String apply(String text);
    }

    private static void slow(JsonBytes out, byte[] b, int off, int n, Conversion c) {
        String s = new String(b, off, n, StandardCharsets.UTF_8);
        try {
            out.ascii(c.apply(s));
        } catch (RuntimeException e) {
            out.string(s); // infinity and other values without an epoch form
        }
    }

    private static boolean numeric(byte[] b, int off, int n) {
        if (n == 0) {
            return false;
        }
        for (int i = off; i < off + n; i++) {
            byte c = b[i];
            if (!(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
                return false;
            }
        }
        return true;
    }
}
