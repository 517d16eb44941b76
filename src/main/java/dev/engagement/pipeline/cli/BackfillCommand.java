package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.Progress;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.source.Backfill;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "backfill", mixinStandardHelpOptions = true,
        description = {"Sends rows that already exist in PostgreSQL through the pipeline again.",
                "Content rows, then the events of the id range, go to the CDC topics as reads; the processor "
                        + "enriches them and the sinks ignore event ids they already hold, so running it twice "
                        + "counts nothing twice. Use it after wiping a sink, or for events older than the slot."})
final class BackfillCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--from-id", paramLabel = "N", description = "First event id (default: the first).")
    Long fromId;

    @Option(names = "--to-id", paramLabel = "N", description = "Last event id (default: the last).")
    Long toId;

    @Override
    public Integer call() throws Exception {
        if (fromId != null && toId != null && fromId > toId) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--from-id " + fromId
                    + " is after --to-id " + toId);
        }
        PipelineConfig config = Cli.config();
        Backfill.Result r;
        try (Progress progress = Progress.of("backfill", "events", Backfill.events(config.postgres(), fromId, toId))) {
            r = new Backfill(config).run(fromId, toId, progress);
        }
        System.out.printf("backfill: %,d content rows and %,d events written to the CDC topics in %.1f s (%,.0f events/s)%n",
                r.content(), r.events(), r.millis() / 1000.0, r.eventsPerSecond());
        return 0;
    }
}
