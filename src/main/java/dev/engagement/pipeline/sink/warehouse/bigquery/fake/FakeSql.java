package dev.engagement.pipeline.sink.warehouse.bigquery.fake;

import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The FAKE's Standard SQL: BigQuery's syntax for what docs/ANALYTICS.md uses, rewritten into
 * DuckDB's. Table names in backticks ({@code `project.dataset.table`} or {@code `dataset.table`})
 * become {@code dataset.table}; {@code TIMESTAMP_TRUNC(x, HOUR)}, {@code DATE_DIFF(a, b, DAY)},
 * {@code APPROX_QUANTILES(x, n)[OFFSET(k)]}, {@code COUNTIF}, {@code SAFE_DIVIDE} and
 * {@code DATE(ts)} become DuckDB's equivalents. Anything else runs as DuckDB reads it, so a query
 * can work here and not on BigQuery (or the reverse): this is a fake.
 */
final class FakeSql {
    private static final Pattern QUOTED = Pattern.compile("`([^`]+)`");
    private static final Pattern TRUNC = Pattern.compile("(?i)TIMESTAMP_TRUNC\\(([^,()]+),\\s*(\\w+)\\s*\\)");
    private static final Pattern DATE_DIFF = Pattern.compile("(?i)DATE_DIFF\\(([^,()]+),\\s*([^,()]+),\\s*(\\w+)\\s*\\)");
    private static final Pattern QUANTILES = Pattern.compile(
            "(?i)APPROX_QUANTILES\\(([^,()]+),\\s*(\\d+)\\s*\\)\\s*\\[\\s*OFFSET\\s*\\(\\s*(\\d+)\\s*\\)\\s*]");
    private static final Pattern DATE_OF = Pattern.compile("(?i)(?<![\\w.])DATE\\(([^,()]+)\\)");

    private FakeSql() {
    }

    static void macros(Statement s) throws SQLException {
        s.execute("CREATE MACRO safe_divide(a, b) AS CASE WHEN b = 0 THEN NULL ELSE a / b END");
        s.execute("CREATE MACRO countif(c) AS count_if(c)");
    }

    static String translate(String sql, String project) {
        String out = replace(QUOTED, sql, m -> {
            String name = m.group(1);
            String[] parts = name.split("\\.");
            if (parts.length == 3 && parts[0].equals(project)) {
                return parts[1] + "." + parts[2];
            }
            return parts.length == 1 ? "\"" + name + "\"" : name;
        });
        out = replace(TRUNC, out, m -> "date_trunc('" + m.group(2).toLowerCase() + "', " + m.group(1).strip() + ")");
        out = replace(DATE_DIFF, out, m -> "date_diff('" + m.group(3).toLowerCase() + "', " + m.group(2).strip() + ", "
                + m.group(1).strip() + ")");
        out = replace(QUANTILES, out, m -> "quantile_disc(" + m.group(1).strip() + ", " + m.group(3) + " / "
                + m.group(2) + ")");
        out = replace(DATE_OF, out, m -> "CAST(" + m.group(1).strip() + " AS DATE)");
        return out;
    }

    private static String replace(Pattern p, String s, java.util.function.Function<Matcher, String> f) {
        Matcher m = p.matcher(s);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(b, Matcher.quoteReplacement(f.apply(m)));
        }
        m.appendTail(b);
        return b.toString();
    }
}
