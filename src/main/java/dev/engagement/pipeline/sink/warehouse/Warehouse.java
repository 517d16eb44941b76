package dev.engagement.pipeline.sink.warehouse;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.model.Json;

import java.math.BigDecimal;
import java.util.List;

/**
 * The analytics warehouse as people query it: DuckDB (also the sink's transactional store) or
 * BigQuery (written by its own sink through the Storage Write API).
 */
public interface Warehouse extends AutoCloseable {
    String TABLE = "engagement_events_enriched";

    /** A short human status for /health: "connected", or what is wrong. */
    String status();

    @Override
    void close();

    /**
     * Runs one SELECT, read-only as the warehouse itself enforces it, within {@code limits}.
     *
     * @throws RefusedQueryException the text is not exactly one SELECT, or it ran out of time
     */
    QueryResult select(String sql, QueryLimits limits) throws Exception;

    /** How long a query may run and how many rows come back (more: the result says it was cut). */
    record QueryLimits(java.time.Duration timeout, int maxRows) {
        /** For the pipeline's own checks. */
        public static final QueryLimits GENEROUS = new QueryLimits(java.time.Duration.ofMinutes(5), Integer.MAX_VALUE);
    }

    /** A query refused before or while it ran, with a reason to show the person who sent it. */
    class RefusedQueryException extends Exception {
        public RefusedQueryException(String message) {
            super(message);
        }
    }

    record QueryResult(List<String> columns, List<List<Object>> rows, boolean truncated) {
        public QueryResult(List<String> columns, List<List<Object>> rows) {
            this(columns, rows, false);
        }

        /** The inverse of {@link #toJson()}: numbers come back as numbers, everything else as text. */
        public static QueryResult fromJson(com.fasterxml.jackson.databind.JsonNode body) {
            List<String> cols = new java.util.ArrayList<>();
            body.get("columns").forEach(c -> cols.add(c.asText()));
            List<List<Object>> out = new java.util.ArrayList<>();
            for (com.fasterxml.jackson.databind.JsonNode row : body.get("rows")) {
                List<Object> values = new java.util.ArrayList<>();
                row.forEach(v -> values.add(v.isNull() ? null : v.isNumber() ? v.numberValue() : v.asText()));
                out.add(values);
            }
            return new QueryResult(cols, out, body.path("truncated").asBoolean(false));
        }

        /** {"columns": [...], "rows": [[...], ...]} with numbers as numbers, and "truncated" when cut short. */
        public ObjectNode toJson() {
            ObjectNode out = Json.MAPPER.createObjectNode();
            ArrayNode cols = out.putArray("columns");
            columns.forEach(cols::add);
            ArrayNode rowsOut = out.putArray("rows");
            for (List<Object> row : rows) {
                ArrayNode a = rowsOut.addArray();
                for (Object v : row) {
                    if (v == null) {
                        a.addNull();
                    } else if (v instanceof Long l) {
                        a.add(l);
                    } else if (v instanceof Integer i) {
                        a.add(i);
                    } else if (v instanceof BigDecimal d) {
                        a.add(d);
                    } else if (v instanceof Double d) {
                        a.add(d);
                    } else if (v instanceof Boolean b) {
                        a.add(b);
                    } else {
                        a.add(String.valueOf(v));
                    }
                }
            }
            if (truncated) {
                out.put("truncated", true);
            }
            return out;
        }
    }
}
