package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.jmh.PerEventBenchmark;
import dev.engagement.pipeline.jmh.Records;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Setup;


/** The http sink's encode path: a batch of 500 records spliced into one JSON array body. Per event. */
public class HttpEncodeBenchmark extends PerEventBenchmark {
    private Batch batch;

    @Setup
    public void setUp() throws Exception {
        batch = new Batch(Records.PARTITION, Records.batch().records());
    }

    @Benchmark
    @OperationsPerInvocation(Records.BATCH)
    public byte[] body() {
        return batch.body();
    }
}
