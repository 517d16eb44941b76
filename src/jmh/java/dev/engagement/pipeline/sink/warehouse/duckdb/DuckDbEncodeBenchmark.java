package dev.engagement.pipeline.sink.warehouse.duckdb;

import dev.engagement.pipeline.jmh.PerEventBenchmark;
import dev.engagement.pipeline.jmh.Records;
import dev.engagement.pipeline.sink.SinkRecord;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;

/**
 * The warehouse sink's encode path: a batch of 500 parsed events appended, row by row as the sink
 * does, into an in-memory DuckDB staging table of the warehouse's columns (then emptied). Per event.
 */
public class DuckDbEncodeBenchmark extends PerEventBenchmark {
    private List<SinkRecord> records;
    private DuckDBConnection connection;

    @Setup
    public void setUp() throws Exception {
        records = Records.batch().records();
        connection = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:");
        try (Statement s = connection.createStatement()) {
            s.execute(DuckDbWarehouse.DDL);
            s.execute("CREATE TEMP TABLE staging AS SELECT * FROM " + DuckDbWarehouse.TABLE + " LIMIT 0");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        connection.close();
    }

    @Benchmark
    @OperationsPerInvocation(Records.BATCH)
    public void appendBatch() throws Exception {
        try (DuckDBAppender a = connection.createAppender("temp", "main", "staging")) {
            for (SinkRecord r : records) {
                DuckDbWarehouse.append(a, r.event());
            }
        }
        try (Statement s = connection.createStatement()) {
            s.execute("DELETE FROM staging");
        }
    }
}
