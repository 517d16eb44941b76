package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.local.EmbeddedKafka;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "kafka", mixinStandardHelpOptions = true,
        description = {"Runs a single-node KRaft broker for development, until Ctrl-C or SIGTERM.",
                "No download: it runs from the Kafka artifacts in this build."})
final class KafkaCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "9092", description = "Listener port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "data/kafka",
            description = "Where the broker keeps its log (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
        Options.between(spec, "--port", port, 1, 65535);
        EmbeddedKafka kafka = EmbeddedKafka.start(dataDir, port);
        System.out.println("Kafka broker on " + kafka.bootstrapServers() + " (log in " + dataDir.toAbsolutePath()
                + "); Ctrl-C to stop");
        Cli.runUntilStopped(kafka::close);
        return 0;
    }
}
