package dev.engagement.pipeline.sink.warehouse;

import dev.engagement.pipeline.sink.TransactionalSink;

import java.util.List;

/** The analytics warehouse: a transactional sink of enriched events that can also answer SQL. */
public interface Warehouse extends TransactionalSink {
    String TABLE = "engagement_events_enriched";

    QueryResult query(String sql) throws Exception;

    record QueryResult(List<String> columns, List<List<Object>> rows) {
    }
}
