package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.bench.Benchmark;
import dev.engagement.pipeline.config.Logging;
import dev.engagement.pipeline.model.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measures throughput, latency, backfill speed, CPU and memory on this machine, each figure as a "
                + "ratio of a limit measured in the same run.",
                "Brings up a private PostgreSQL, Redis and Kafka broker under --dir, runs the whole pipeline in a process "
                        + "of its own with a stand-in for the external API, and prints (and writes as JSON) what it "
                        + "measured: the limits (pg_recvlogical, Kafka produce and consume, Redis pipelined writes, the DuckDB "
                        + "appender), end-to-end throughput for three workloads (COPY, INSERT ... SELECT, single-row "
                        + "transactions from 8 clients), commit-to-sink latency at fixed rates, backfill, CPU per event per "
                        + "stage, the pipeline's peak heap, and the source alone (pg_recvlogical, the native and the Debezium "
                        + "source on the same rows)."})
final class BenchCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--events", paramLabel = "N", defaultValue = "500000",
            description = "Events for the COPY workload of the throughput phase (default: ${DEFAULT-VALUE}).")
    long events;

    @Option(names = "--insert-events", paramLabel = "N", defaultValue = "300000",
            description = "Events for the INSERT ... SELECT workload, 20,000 rows a transaction (default: ${DEFAULT-VALUE}).")
    long insertEvents;

    @Option(names = "--single-row-events", paramLabel = "N", defaultValue = "60000",
            description = "Events for the single-row workload, one transaction each from 8 clients "
                    + "(default: ${DEFAULT-VALUE}).")
    long singleRowEvents;

    @Option(names = "--rates", paramLabel = "LIST", defaultValue = "1000,5000,half", split = ",",
            description = "Events per second for the latency phase, comma-separated; 'half' is half the maximum the COPY "
                    + "workload measured (default: ${DEFAULT-VALUE}).")
    java.util.List<String> rates;

    @Option(names = "--latency-for", paramLabel = "D", defaultValue = "30s",
            description = "How long each rate of the latency phase measures, after 10 s of warm-up "
                    + "(default: ${DEFAULT-VALUE}).")
    String latencyFor;

    @Option(names = "--phases", paramLabel = "LIST", defaultValue = "limits,throughput,latency,idle,backfill,restart,big_transaction,source",
            split = ",", description = "Which phases to run, comma-separated: limits, throughput, latency, idle, "
                    + "backfill, restart, big_transaction, source (default: all of them).")
    java.util.List<String> phases;

    @Option(names = "--source-rows", paramLabel = "N", defaultValue = "2000000",
            description = "Rows for the source phase: pg_recvlogical, the native and the Debezium source on the same "
                    + "rows, streaming and snapshot (default: ${DEFAULT-VALUE}).")
    long sourceRows;

    @Option(names = "--big-transaction-rows", paramLabel = "N", defaultValue = "2000000",
            description = "Events of the big_transaction phase, all in one INSERT ... SELECT: peak RSS against the "
                    + "memory budget (default: ${DEFAULT-VALUE}).")
    long bigTransactionRows;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "data/bench",
            description = "Where the benchmark's services keep their data (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Options.between(spec, "--events", events, 1000, 100_000_000);
        Options.between(spec, "--insert-events", insertEvents, 20_000, 100_000_000);
        Options.between(spec, "--single-row-events", singleRowEvents, 1000, 100_000_000);
        java.util.List<Integer> chosenRates = new java.util.ArrayList<>();
        for (String r : rates) {
            String v = r.strip();
            if ("half".equals(v)) {
                chosenRates.add(0);
                continue;
            }
            try {
                int n = Integer.parseInt(v);
                Options.between(spec, "--rates", n, 1, 1_000_000);
                chosenRates.add(n);
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--rates: '" + v
                        + "' is neither a number of events per second nor 'half'");
            }
        }
        Options.between(spec, "--source-rows", sourceRows, 1000, 100_000_000);
        Options.between(spec, "--big-transaction-rows", bigTransactionRows, 1000, 100_000_000);
        Duration window = Options.duration(spec, "--latency-for", latencyFor);
        java.util.Set<Benchmark.Phase> chosen = java.util.EnumSet.noneOf(Benchmark.Phase.class);
        for (String p : phases) {
            try {
                chosen.add(Benchmark.Phase.valueOf(p.strip().toUpperCase(java.util.Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--phases: '" + p.strip()
                        + "' is not one of limits, throughput, latency, backfill, restart, big_transaction, source");
            }
        }
        Files.createDirectories(dir);
        Logging.toFile(dir.resolve("bench.log"));
        Map<String, Object> report = new Benchmark(new Benchmark.Settings(events, insertEvents, singleRowEvents,
                chosenRates, Duration.ofSeconds(10), window, dir, chosen, sourceRows, bigTransactionRows), System.out).run();
        Path json = dir.resolve("result-" + System.currentTimeMillis() + ".json");
        Files.writeString(json, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        System.out.println("written to " + json);
        return 0;
    }
}
