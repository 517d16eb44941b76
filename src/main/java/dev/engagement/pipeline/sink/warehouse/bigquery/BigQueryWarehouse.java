package dev.engagement.pipeline.sink.warehouse.bigquery;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.sink.warehouse.Warehouse;

import java.io.IOException;

/**
 * BigQuery as people query it: one Standard SQL SELECT as a query job. BigQuery's own dry run says
 * what the statement is, and anything but a SELECT is refused before it runs; the credentials'
 * roles are the second line (grant the query side {@code roles/bigquery.dataViewer} and
 * {@code roles/bigquery.jobUser} only).
 */
public final class BigQueryWarehouse implements Warehouse {
    private final BigQueryRest rest;

    public BigQueryWarehouse(PipelineConfig.Warehouse config) throws IOException {
        this.rest = new BigQueryRest(config, GoogleAuth.of(config));
    }

    @Override
    public QueryResult select(String sql, QueryLimits limits) throws Exception {
        String type;
        try {
            type = rest.statementType(sql);
        } catch (BigQueryRest.ApiException e) {
            if (e.status == 400) {
                throw new RefusedQueryException(e.getMessage());
            }
            throw e;
        }
        if (!"SELECT".equals(type)) {
            throw new RefusedQueryException("only a single SELECT is allowed here, but BigQuery sees "
                    + (type.isEmpty() ? "something else" : type));
        }
        return rest.query(sql, limits);
    }

    /** Queries hold no connection: the sink's own status (in /health) says how BigQuery answers. */
    @Override
    public String status() {
        return "connected";
    }

    @Override
    public void close() {
    }
}
