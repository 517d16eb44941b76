package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.jmh.Records;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/** The http sink's encode path: a batch of 500 records spliced into one JSON array body. Per event. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class HttpEncodeBenchmark {
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
