package dev.engagement.pipeline.model;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Timestamp forms used across the pipeline: ISO-8601 UTC text on the wire. These run for every
 * event in every stage, so the common form {@code yyyy-MM-ddTHH:mm:ss[.fraction]Z} is parsed and
 * printed by hand (java.time's formatters cost more than the rest of a stage's work); anything else
 * falls back to java.time.
 */
public final class Timestamps {
    private Timestamps() {
    }

    /** Parses ISO-8601 with an offset (Debezium's ZonedTimestamp form) into an instant. */
    public static Instant parse(String text) {
        Instant fast = parseUtc(text);
        if (fast != null) {
            return fast;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            return java.time.OffsetDateTime.parse(text).toInstant();
        }
    }

    /** {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z}, or null when the text has another form. */
    static Instant parseUtc(String s) {
        int n = s.length();
        if (n < 20 || s.charAt(n - 1) != 'Z' || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T'
                || s.charAt(13) != ':' || s.charAt(16) != ':') {
            return null;
        }
        int year = digits(s, 0, 4);
        int month = digits(s, 5, 2);
        int day = digits(s, 8, 2);
        int hour = digits(s, 11, 2);
        int minute = digits(s, 14, 2);
        int second = digits(s, 17, 2);
        if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour < 0 || hour > 23
                || minute < 0 || minute > 59 || second < 0 || second > 59) {
            return null;
        }
        int nanos = 0;
        if (n > 20) {
            if (s.charAt(19) != '.' || n - 21 < 1 || n - 21 > 9) {
                return null;
            }
            int f = digits(s, 20, n - 21);
            if (f < 0) {
                return null;
            }
            nanos = f;
            for (int i = n - 21; i < 9; i++) {
                nanos *= 10;
            }
        }
        long epochSecond = daysFromCivil(year, month, day) * 86_400L + hour * 3600L + minute * 60L + second;
        return Instant.ofEpochSecond(epochSecond, nanos);
    }

    /** Normalised UTC text, as {@link Instant#toString()}: fractional digits in groups of three, where present. */
    public static String iso(Instant instant) {
        long secs = instant.getEpochSecond();
        long days = Math.floorDiv(secs, 86_400);
        int secOfDay = Math.floorMod(secs, 86_400);
        int[] ymd = civilFromDays(days);
        if (ymd[0] < 0 || ymd[0] > 9999) {
            return instant.toString();
        }
        char[] out = new char[30];
        int p = date(out, ymd, secOfDay);
        int nanos = instant.getNano();
        if (nanos > 0) {
            out[p++] = '.';
            if (nanos % 1_000_000 == 0) {
                p = pad(out, p, nanos / 1_000_000, 3);
            } else if (nanos % 1000 == 0) {
                p = pad(out, p, nanos / 1000, 6);
            } else {
                p = pad(out, p, nanos, 9);
            }
        }
        out[p++] = 'Z';
        return new String(out, 0, p);
    }

    /** Fixed-width UTC text with milliseconds, which sorts as text in time order. */
    public static String fixedMillis(Instant instant) {
        long secs = instant.getEpochSecond();
        int[] ymd = civilFromDays(Math.floorDiv(secs, 86_400));
        char[] out = new char[24];
        int p = date(out, ymd, Math.floorMod(secs, 86_400));
        out[p++] = '.';
        p = pad(out, p, instant.getNano() / 1_000_000, 3);
        out[p] = 'Z';
        return new String(out);
    }

    /** The UTC minute bucket of an instant: "202508101430". */
    public static String minute(Instant instant) {
        long secs = instant.getEpochSecond();
        int[] ymd = civilFromDays(Math.floorDiv(secs, 86_400));
        int secOfDay = Math.floorMod(secs, 86_400);
        char[] out = new char[12];
        int p = pad(out, 0, ymd[0], 4);
        p = pad(out, p, ymd[1], 2);
        p = pad(out, p, ymd[2], 2);
        p = pad(out, p, secOfDay / 3600, 2);
        pad(out, p, secOfDay / 60 % 60, 2);
        return new String(out);
    }

    public static long epochMicros(Instant instant) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1000);
    }

    private static int date(char[] out, int[] ymd, int secOfDay) {
        int p = pad(out, 0, ymd[0], 4);
        out[p++] = '-';
        p = pad(out, p, ymd[1], 2);
        out[p++] = '-';
        p = pad(out, p, ymd[2], 2);
        out[p++] = 'T';
        p = pad(out, p, secOfDay / 3600, 2);
        out[p++] = ':';
        p = pad(out, p, secOfDay / 60 % 60, 2);
        out[p++] = ':';
        return pad(out, p, secOfDay % 60, 2);
    }

    private static int pad(char[] out, int p, int value, int width) {
        for (int i = width - 1; i >= 0; i--) {
            out[p + i] = (char) ('0' + value % 10);
            value /= 10;
        }
        return p + width;
    }

    private static int digits(String s, int from, int count) {
        int v = 0;
        for (int i = from; i < from + count; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    private static int daysIn(int year, int month) {
        return switch (month) {
            case 2 -> (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28;
            case 4, 6, 9, 11 -> 30;
            default -> 31;
        };
    }

    /** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
    private static long daysFromCivil(int y, int m, int d) {
        y -= m <= 2 ? 1 : 0;
        long era = Math.floorDiv(y, 400);
        long yoe = y - era * 400;
        long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146_097 + doe - 719_468;
    }

    /** {year, month, day} of days since 1970-01-01 (H. Hinnant's civil_from_days). */
    private static int[] civilFromDays(long z) {
        z += 719_468;
        long era = Math.floorDiv(z, 146_097);
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long y = yoe + era * 400;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        long d = doy - (153 * mp + 2) / 5 + 1;
        long m = mp + (mp < 10 ? 3 : -9);
        return new int[] {(int) (y + (m <= 2 ? 1 : 0)), (int) m, (int) d};
    }
}
