package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.Progress;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.generate.EventGenerator;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Inserts synthetic content and engagement events into PostgreSQL at a steady rate.")
final class GenerateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--rate", paramLabel = "N", defaultValue = "100", description = "Events per second (default: ${DEFAULT-VALUE}).")
    int rate;

    @ArgGroup(multiplicity = "1")
    Amount amount;

    static final class Amount {
        @Option(names = "--count", paramLabel = "N", required = true, description = "How many events to insert.")
        Long count;

        @Option(names = "--duration", paramLabel = "D", required = true, description = "How long to insert for: 30s, 5m, 1h.")
        String duration;
    }

    @Option(names = "--content", paramLabel = "N", defaultValue = "100",
            description = "Make sure at least N content rows exist first (default: ${DEFAULT-VALUE}).")
    int content;

    @Option(names = "--invalid-percent", paramLabel = "P", defaultValue = "0",
            description = "Share of events that break a rule on purpose, 0-100 (default: ${DEFAULT-VALUE}).")
    double invalidPercent;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed, for a reproducible data set.")
    Long seed;

    @Override
    public Integer call() throws Exception {
        Options.between(spec, "--rate", rate, 1, 1_000_000);
        Options.between(spec, "--content", content, 1, 100_000);
        Options.between(spec, "--invalid-percent", invalidPercent, 0, 100);
        if (amount.count != null) {
            Options.between(spec, "--count", amount.count, 1, Long.MAX_VALUE);
        }
        Duration duration = amount.duration == null ? null : Options.duration(spec, "--duration", amount.duration);
        PipelineConfig config = Cli.config();
        long s = seed == null ? System.nanoTime() : seed;
        EventGenerator generator = new EventGenerator(config.postgres(), s);
        int added = generator.ensureContent(content);
        System.out.printf("content: %d rows added; generating at %d events/s (seed %d)%n", added, rate, s);
        long written;
        try (Progress progress = duration == null ? Progress.of("generate", "events", amount.count)
                : Progress.timed("generate", "events", duration)) {
            written = generator.run(rate, amount.count == null ? 0 : amount.count, duration, invalidPercent, progress);
        }
        System.out.printf("%,d events written%n", written);
        return 0;
    }
}
