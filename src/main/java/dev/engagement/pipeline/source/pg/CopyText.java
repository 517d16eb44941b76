package dev.engagement.pipeline.source.pg;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns one row of {@code COPY ... TO STDOUT} (text format: tab-separated, {@code \N} for null,
 * backslash escapes) into the envelope's row object, each value unescaped into a reused buffer
 * and written by {@link PgValues} exactly as a pgoutput tuple's value would be.
 */
final class CopyText {
    private byte[] scratch = new byte[1024];

    /** Writes {@code {"col":value,...}} for the row; returns the key column's text (null when null). */
    String row(byte[] row, Relation rel, JsonBytes out) {
        int end = row.length;
        if (end > 0 && row[end - 1] == '\n') {
            end--;
        }
        out.ascii('{');
        String key = null;
        int column = 0;
        int start = 0;
        for (int i = 0; i <= end; i++) {
            if (i < end && row[i] != '\t') {
                continue;
            }
            if (column > 0) {
                out.ascii(',');
            }
            out.field(column < rel.columns().size() ? rel.columns().get(column) : "column_" + (column + 1));
            int n = i - start;
            if (n == 2 && row[start] == '\\' && row[start + 1] == 'N') {
                out.ascii("null");
            } else {
                int len = unescape(row, start, n);
                PgValues.write(out, column < rel.types().length ? rel.types()[column] : 0, scratch, 0, len);
                if (column == rel.keyColumn()) {
                    key = new String(scratch, 0, len, StandardCharsets.UTF_8);
                }
            }
            column++;
            start = i + 1;
        }
        out.ascii('}');
        return key;
    }

    private int unescape(byte[] src, int off, int n) {
        if (scratch.length < n) {
            scratch = Arrays.copyOf(scratch, Math.max(n, scratch.length * 2));
        }
        int len = 0;
        for (int i = off, end = off + n; i < end; i++) {
            byte c = src[i];
            if (c != '\\' || i + 1 == end) {
                scratch[len++] = c;
                continue;
            }
            byte e = src[++i];
            switch (e) {
                case 'n' -> scratch[len++] = '\n';
                case 't' -> scratch[len++] = '\t';
                case 'r' -> scratch[len++] = '\r';
                case 'b' -> scratch[len++] = '\b';
                case 'f' -> scratch[len++] = '\f';
                case 'v' -> scratch[len++] = 0x0B;
                case 'x' -> {
                    int v = 0;
                    int digits = 0;
                    while (digits < 2 && i + 1 < end && hex(src[i + 1]) >= 0) {
                        v = v * 16 + hex(src[++i]);
                        digits++;
                    }
                    scratch[len++] = (byte) v;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int d = 0; d < 2 && i + 1 < end && src[i + 1] >= '0' && src[i + 1] <= '7'; d++) {
                            v = v * 8 + (src[++i] - '0');
                        }
                        scratch[len++] = (byte) v;
                    } else {
                        scratch[len++] = e; // \\ and any other escaped character stand for themselves
                    }
                }
            }
        }
        return len;
    }

    private static int hex(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }
}
