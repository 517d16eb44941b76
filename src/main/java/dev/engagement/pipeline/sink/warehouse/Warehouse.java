package dev.engagement.pipeline.sink.warehouse;

import dev.engagement.pipeline.sink.TransactionalSink;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.model.Json;

import java.math.BigDecimal;
import java.util.List;

/** The analytics warehouse: a transactional sink of enriched events that can also answer SQL. */
public interface Warehouse extends TransactionalSink {
    String TABLE = "engagement_events_enriched";

    /** Runs SQL and commits what it changed (the pipeline's own use). */
    QueryResult query(String sql) throws Exception;

    /** Runs SQL for a person and leaves the warehouse as it was. */
    QueryResult queryReadOnly(String sql) throws Exception;

    record QueryResult(List<String> columns, List<List<Object>> rows) {
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
            return new QueryResult(cols, out);
        }

        /** {"columns": [...], "rows": [[...], ...]} with numbers as numbers. */
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
            return out;
        }
    }
}
