package dev.engagement.pipeline.model;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Exact decimal arithmetic for engagement figures. Milliseconds are the integer truth; seconds and
 * percentages are derived from them and never accumulated as floating point.
 */
public final class Decimals {
    private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

    private Decimals() {
    }

    /** {@code ms / 1000} as a plain decimal with at least one fractional digit: 900000 -> "900.0". */
    public static String seconds(long ms) {
        return plain(BigDecimal.valueOf(ms, 3));
    }

    /** engagement_seconds / length_seconds * 100, rounded half-up to two decimals. */
    public static BigDecimal percentage(long durationMs, int lengthSeconds) {
        return BigDecimal.valueOf(durationMs, 3).multiply(HUNDRED)
                .divide(BigDecimal.valueOf(lengthSeconds), 2, RoundingMode.HALF_UP);
    }

    /** A decimal without exponent and without trailing zeros, keeping one fractional digit: 50.00 -> "50.0". */
    public static String plain(BigDecimal value) {
        BigDecimal stripped = value.stripTrailingZeros();
        if (stripped.scale() < 1) {
            stripped = stripped.setScale(1);
        }
        return stripped.toPlainString();
    }

    /** Parses a decimal number of seconds into exact milliseconds; rejects sub-millisecond precision. */
    public static long secondsToMillis(String seconds) {
        return new BigDecimal(seconds).movePointRight(3).longValueExact();
    }
}
