package dev.engagement.pipeline.source.pg;

import dev.engagement.pipeline.model.Json;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** PostgreSQL's text values and COPY rows into the envelope's JSON, without a database. */
class PgTextTest {
    private static String value(int type, String text) {
        JsonBytes out = new JsonBytes();
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        PgValues.write(out, type, b, 0, b.length);
        return new String(out.toBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void timestampsBecomeUtcWithMicroseconds() {
        assertThat(value(PgValues.TIMESTAMPTZ, "2025-08-10 14:30:20+00")).isEqualTo("\"2025-08-10T14:30:20.000000Z\"");
        assertThat(value(PgValues.TIMESTAMPTZ, "2025-08-10 14:30:20.12+00")).isEqualTo("\"2025-08-10T14:30:20.120000Z\"");
        assertThat(value(PgValues.TIMESTAMPTZ, "2025-08-10 14:30:20.123456+00")).isEqualTo("\"2025-08-10T14:30:20.123456Z\"");
        assertThat(value(PgValues.TIMESTAMPTZ, "2025-08-10 16:30:20.5+02")).isEqualTo("\"2025-08-10T14:30:20.500000Z\"");
        assertThat(value(PgValues.TIMESTAMPTZ, "2025-08-10 09:00:20-05:30")).isEqualTo("\"2025-08-10T14:30:20.000000Z\"");
        assertThat(value(PgValues.TIMESTAMPTZ, "infinity")).isEqualTo("\"infinity\"");
    }

    @Test
    void numbersBooleansAndJsonStayJsonEverythingElseIsAnEscapedString() throws Exception {
        assertThat(value(PgValues.INT8, "-42")).isEqualTo("-42");
        assertThat(value(PgValues.BOOL, "t")).isEqualTo("true");
        assertThat(value(PgValues.FLOAT8, "NaN")).isEqualTo("\"NaN\"");
        assertThat(value(PgValues.JSONB, "{\"a\": [1, \"ü\"]}")).isEqualTo("{\"a\": [1, \"ü\"]}");
        assertThat(value(PgValues.DATE, "1970-01-11")).isEqualTo("10");
        assertThat(value(PgValues.TIMESTAMP, "1970-01-01 00:00:01.5")).isEqualTo("1500000");
        String nasty = "q\" b\\ t\t n\n c\u0001 é 😀";
        assertThat(Json.MAPPER.readTree(value(25, nasty)).asText()).isEqualTo(nasty);
    }

    @Test
    void numbersAndNamesAreWrittenInPlace() throws Exception {
        JsonBytes out = new JsonBytes();
        String name = "na\"me";
        out.ascii('[').number(0).ascii(',').number(-7).ascii(',').number(Long.MAX_VALUE).ascii(',')
                .number(Long.MIN_VALUE).ascii(',').name(name).ascii(',').name(name).ascii(",{").field(name).number(1)
                .ascii('}').ascii(']');
        assertThat(Json.MAPPER.readTree(out.toBytes()).toString())
                .isEqualTo("[0,-7," + Long.MAX_VALUE + "," + Long.MIN_VALUE + ",\"na\\\"me\",\"na\\\"me\",{\"na\\\"me\":1}]");
    }

    @Test
    void copyRowsAreUnescapedAndNullsKept() throws Exception {
        Relation rel = Relation.of(1, "public", "content", List.of("id", "title", "length_seconds", "publish_ts"),
                new int[] {2950, 25, PgValues.INT4, PgValues.TIMESTAMPTZ});
        byte[] row = "abc\ta\\tb\\\\c\\nd\\101\\x42\t\\N\t2025-08-10 14:30:20+00\n".getBytes(StandardCharsets.UTF_8);
        JsonBytes out = new JsonBytes();
        String key = new CopyText().row(row, rel, out);
        var tree = Json.MAPPER.readTree(out.toBytes());
        assertThat(key).isEqualTo("abc");
        assertThat(tree.get("title").asText()).isEqualTo("a\tb\\c\ndAB");
        assertThat(tree.get("length_seconds").isNull()).isTrue();
        assertThat(tree.get("publish_ts").asText()).isEqualTo("2025-08-10T14:30:20.000000Z");
    }

    @Test
    void lsnsReadAndWriteAsPostgresDoes() {
        assertThat(Lsn.format(Lsn.parse("16/B374D848"))).isEqualTo("16/B374D848");
        assertThat(Lsn.parse("0/1")).isEqualTo(1L);
    }
}
