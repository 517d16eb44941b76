package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.Pipeline;
import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.Logging;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.generate.EventGenerator;
import dev.engagement.pipeline.local.DemoReceiver;
import dev.engagement.pipeline.local.LocalStack;
import dev.engagement.pipeline.sink.warehouse.bigquery.fake.FakeBigQuery;
import dev.engagement.pipeline.metrics.Latency;
import dev.engagement.pipeline.metrics.Meters;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs the whole pipeline on this machine with generated data and a live dashboard.",
                "Brings up a private PostgreSQL with logical WAL, a private Redis and an embedded Kafka broker "
                        + "under DATA_DIR/local (unless the settings point at your own), creates the schema, seeds "
                        + "content, generates events, runs every stage and serves the dashboard on HTTP_PORT. "
                        + "Ctrl-C stops everything cleanly."})
final class DemoCommand implements Callable<Integer> {
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final String DEMO_TOKEN = "demo-token";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--rate", paramLabel = "N", defaultValue = "200", description = "Events per second to generate (default: ${DEFAULT-VALUE}).")
    int rate;

    @Option(names = "--content", paramLabel = "N", defaultValue = "60", description = "Content rows to seed (default: ${DEFAULT-VALUE}).")
    int content;

    @Option(names = "--invalid-percent", paramLabel = "P", defaultValue = "1",
            description = "Share of generated events that break a rule, to show engagement.invalid (default: ${DEFAULT-VALUE}).")
    double invalidPercent;

    @Option(names = "--duration", paramLabel = "D", description = "Stop by itself after this long (default: run until Ctrl-C).")
    String duration;

    @Option(names = "--warehouse", paramLabel = "KIND", defaultValue = "duckdb",
            description = {"duckdb (default), or bigquery: the warehouse sink writes through the Storage Write API to an "
                    + "in-process FAKE of BigQuery's wire API (no Google Cloud project needed; rows live in memory and "
                    + "`warehouse query` answers through this demo's API)."})
    String warehouse;

    @Override
    public Integer call() throws Exception {
        Options.between(spec, "--rate", rate, 1, 1_000_000);
        Options.between(spec, "--content", content, 1, 100_000);
        Options.between(spec, "--invalid-percent", invalidPercent, 0, 100);
        Duration limit = duration == null ? null : Options.duration(spec, "--duration", duration);
        Options.oneOf(spec, "--warehouse", warehouse, "duckdb", "bigquery");

        Map<String, String> given = Cli.environment();
        PipelineConfig preliminary = Cli.config(given); // every settings problem, before anything starts
        Path logFile = preliminary.dataDir().resolve("logs/demo.log");
        Files.createDirectories(logFile.getParent());
        Logging.toFile(logFile);
        System.out.println("engagement-pipeline demo: starting local services (first start takes a few seconds)");

        LocalStack stack = LocalStack.up(given, preliminary.dataDir().resolve("local"));
        DemoReceiver receiver = null;
        FakeBigQuery fakeBigQuery = null;
        Pipeline pipeline = null;
        Thread generatorThread = null;
        AtomicLong generated = new AtomicLong();
        try {
            Map<String, String> env = new HashMap<>(given);
            env.putAll(stack.overrides());
            if (!given.containsKey("EXTERNAL_API_URL")) {
                receiver = new DemoReceiver(DEMO_TOKEN);
                env.put("EXTERNAL_API_URL", receiver.url());
                env.put("EXTERNAL_API_TOKEN", DEMO_TOKEN);
            }
            if ("bigquery".equals(warehouse)) {
                fakeBigQuery = FakeBigQuery.start("demo-project");
                env.putAll(fakeBigQuery.settings("engagement_demo"));
            }
            PipelineConfig config = ConfigLoader.load(env);
            Logging.configure(config);
            Schema.init(config.postgres());
            EventGenerator generator = new EventGenerator(config.postgres(), System.nanoTime());
            int added = generator.ensureContent(content);
            pipeline = Pipeline.start(config, Component.all(), dev.engagement.pipeline.metrics.KafkaMeters.registry());
            PrometheusMeterRegistry registry = pipeline.registry();

            System.out.println("  PostgreSQL   " + config.postgres() + (given.containsKey("POSTGRES_HOST") ? "" : " (private, logical WAL)"));
            System.out.println("  Kafka        " + config.kafka().bootstrapServers() + (given.containsKey("KAFKA_BOOTSTRAP_SERVERS") ? "" : " (embedded KRaft broker)"));
            System.out.println("  Redis        " + config.redis() + (given.containsKey("REDIS_URL") ? "" : " (private)"));
            System.out.println("  Warehouse    " + (fakeBigQuery == null ? "DuckDB " + config.warehouse().duckdbPath()
                    : "BigQuery " + config.warehouse().bigQueryTableName() + " (in-process FAKE of the Storage Write "
                    + "and REST APIs: " + fakeBigQuery.writeEndpoint() + ", " + fakeBigQuery.restEndpoint() + ")"));
            System.out.println("  External API " + config.externalApi().url().orElseThrow() + (receiver != null ? " (built-in demo receiver)" : ""));
            System.out.println("  Content      " + added + " rows added; generating " + rate + " events/s");
            System.out.println("  Logs         " + logFile);
            System.out.println();
            System.out.println("Dashboard: http://localhost:" + pipeline.apiPort().orElseThrow() + "/   (Ctrl-C to stop)");
            if (fakeBigQuery != null) {
                System.out.println("Query it:  HTTP_PORT=" + pipeline.apiPort().orElseThrow()
                        + " ./pipeline warehouse query --api \"SELECT count(*) FROM engagement_events_enriched\"");
            }

            generatorThread = new Thread(() -> {
                try {
                    generator.run(rate, 0, null, invalidPercent, generated::set);
                } catch (Exception e) {
                    System.err.println("generator stopped: " + e.getMessage());
                }
            }, "demo-generator");
            generatorThread.start();

            CountDownLatch stop = new CountDownLatch(1);
            Pipeline running = pipeline;
            DemoReceiver api = receiver;
            FakeBigQuery bq = fakeBigQuery;
            Thread generatorRef = generatorThread;
            Thread hook = new Thread(() -> {
                generatorRef.interrupt();
                stop.countDown();
                shutdown(running, api, bq, stack);
            }, "demo-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            long deadline = limit == null ? Long.MAX_VALUE : System.nanoTime() + limit.toNanos();
            long previous = 0;
            while (!stop.await(5, TimeUnit.SECONDS)) {
                long inRedis = (long) Meters.count(registry, "pipeline.sink.events", "sink", "redis");
                double p99 = Latency.percentileMs(registry, "redis", 0.99);
                long invalid = (long) Meters.count(registry, "pipeline.processor.records", "outcome", "invalid");
                System.out.printf("[%s] generated %,d | in Redis %,d (%,d/s) | p99 commit->Redis %s | invalid %,d | API received %,d%n",
                        LocalTime.now().format(CLOCK), generated.get(), inRedis, (inRedis - previous) / 5,
                        Double.isNaN(p99) ? "-" : String.format("%.0f ms", p99), invalid,
                        api == null ? -1 : api.events());
                previous = inRedis;
                if (System.nanoTime() > deadline) {
                    Runtime.getRuntime().removeShutdownHook(hook);
                    generatorRef.interrupt();
                    generatorRef.join(10_000);
                    shutdown(running, api, bq, stack);
                    return 0;
                }
            }
            return 0;
        } catch (Exception | Error e) {
            if (generatorThread != null) {
                generatorThread.interrupt();
            }
            shutdown(pipeline, receiver, fakeBigQuery, stack);
            throw e;
        }
    }

    private static void shutdown(Pipeline pipeline, DemoReceiver receiver, FakeBigQuery bq, LocalStack stack) {
        System.out.println("stopping...");
        if (pipeline != null) {
            pipeline.close();
        }
        if (bq != null) {
            bq.close();
        }
        if (receiver != null) {
            receiver.close();
        }
        stack.close();
        System.out.println("stopped cleanly");
    }
}
