package dev.engagement.pipeline.sink.warehouse;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.sink.warehouse.duckdb.DuckDbWarehouse;

import java.sql.SQLException;

/** Opens the configured warehouse. */
public final class Warehouses {
    private Warehouses() {
    }

    public static Warehouse open(PipelineConfig.Warehouse config) throws SQLException {
        return switch (config.kind()) {
            case DUCKDB -> new DuckDbWarehouse(config.duckdbPath());
            case BIGQUERY -> throw new IllegalStateException("WAREHOUSE=bigquery is not available in this build yet");
        };
    }
}
