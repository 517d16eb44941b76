package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.Progress;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.config.Durations;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.sink.http.DeadLetters;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

@Command(name = "dlq", mixinStandardHelpOptions = true,
        description = "What the external API refused (sink.http.dlq): list it, send it again.",
        subcommands = {DlqCommand.ListDeadLetters.class, DlqCommand.Replay.class})
final class DlqCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: list or replay");
    }

    /** An instant (2025-08-10T14:30:00Z) or a duration ago (30m, 24h). */
    static Optional<Instant> since(CommandLine.Model.CommandSpec spec, String since) {
        if (since == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.parse(since));
        } catch (DateTimeParseException notInstant) {
            try {
                return Optional.of(Instant.now().minus(Durations.parse(since)));
            } catch (IllegalArgumentException notDuration) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--since must be an instant like 2025-08-10T14:30:00Z or a duration ago like 30m, but was '"
                                + since + "'");
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "Lists dead letters, oldest first, with why and where they came from.")
    static final class ListDeadLetters implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--since", paramLabel = "T", description = "Only those from T on: an instant or a duration ago (30m, 24h).")
        String since;

        @Option(names = "--reason", paramLabel = "R", description = "Only this reason: rejected or retries_exhausted.")
        String reason;

        @Option(names = "--status", paramLabel = "N", description = "Only this HTTP status (0: no answer).")
        Integer status;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "At most N (default: ${DEFAULT-VALUE}).")
        int limit;

        @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "table", description = "table or json (default: ${DEFAULT-VALUE}).")
        String format;

        @Override
        public Integer call() throws Exception {
            Options.oneOf(spec, "--format", format, "table", "json");
            Options.between(spec, "--limit", limit, 1, 1_000_000);
            Optional<Instant> from = since(spec, since);
            PipelineConfig config = Cli.config();
            Predicate<DeadLetters.Entry> filter = e -> (reason == null || reason.equals(e.reason()))
                    && (status == null || String.valueOf(status).equals(e.status()));
            List<DeadLetters.Entry> entries = new DeadLetters(config).list(from, filter, limit);
            if ("json".equals(format)) {
                ArrayNode arr = Json.MAPPER.createArrayNode();
                for (DeadLetters.Entry e : entries) {
                    ObjectNode o = arr.addObject();
                    o.put("last_attempt", e.lastAttempt().toString());
                    o.put("reason", e.reason());
                    o.put("status", e.status());
                    o.put("attempts", e.attempts());
                    o.put("source", e.source());
                    o.put("detail", e.detail());
                    o.set("record", record(e.value()));
                }
                System.out.println(Json.MAPPER.writeValueAsString(arr));
                return 0;
            }
            System.out.printf("%-24s %-17s %-6s %-8s %-10s %-36s %-28s %s%n", "last attempt", "reason", "status",
                    "attempts", "event_id", "content_id", "from", "detail");
            for (DeadLetters.Entry e : entries) {
                JsonNode r = record(e.value());
                System.out.printf("%-24s %-17s %-6s %-8s %-10s %-36s %-28s %s%n", e.lastAttempt(), e.reason(),
                        e.status(), e.attempts(), r.path("event_id").asText("?"), r.path("content_id").asText("?"),
                        e.source(), e.detail());
            }
            System.out.println("(" + entries.size() + (entries.size() == 1 ? " dead letter)" : " dead letters)"));
            return 0;
        }

        private static JsonNode record(byte[] value) {
            try {
                return Json.MAPPER.readTree(value);
            } catch (Exception e) {
                return Json.MAPPER.createObjectNode();
            }
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true,
            description = {"Sends dead letters to the external API again, through the http sink's client.",
                    "Continues where the last replay stopped (or from --since). Batch keys come from the dead "
                            + "letters' offsets, so replaying twice sends nothing twice. What the API refuses again "
                            + "stays in sink.http.dlq."})
    static final class Replay implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--since", paramLabel = "T", description = "Replay from T on: an instant or a duration ago (30m, 24h).")
        String since;

        @Option(names = "--dry-run", description = "Show what would be sent; send nothing, move nothing.")
        boolean dryRun;

        @Override
        public Integer call() throws Exception {
            Optional<Instant> from = since(spec, since);
            PipelineConfig config = Cli.config();
            config.requireFor(java.util.Set.of(dev.engagement.pipeline.config.Component.HTTP));
            DeadLetters.ReplayReport r;
            try (Progress progress = Progress.of("dlq replay", "events", 0)) {
                r = new DeadLetters(config).replay(from, dryRun, new SimpleMeterRegistry(), System.out::println,
                        progress::total, progress);
            }
            System.out.printf("%s %d events in %d batches: %d delivered, %d refused again%n",
                    dryRun ? "would replay" : "replayed", r.sent(), r.batches(), r.delivered(), r.refusedAgain());
            return r.refusedAgain() == 0 ? 0 : 1;
        }
    }
}
