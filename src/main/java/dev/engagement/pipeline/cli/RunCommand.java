package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.Pipeline;
import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.PipelineConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs pipeline stages against the configured services until Ctrl-C or SIGTERM.",
                "Stages can run in separate processes and on many hosts."})
final class RunCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--components", split = ",", paramLabel = "LIST",
            description = "Stages to run here, comma-separated: source, processor, redis, warehouse, http, api "
                    + "(default: all).")
    List<String> components;

    @Override
    public Integer call() throws Exception {
        Set<Component> chosen = parse(spec, components);
        PipelineConfig config = Cli.config();
        config.requireFor(chosen);
        Pipeline pipeline = Pipeline.start(config, chosen, dev.engagement.pipeline.metrics.KafkaMeters.registry());
        Cli.runUntilStopped(pipeline::close);
        return 0;
    }

    static Set<Component> parse(CommandLine.Model.CommandSpec spec, List<String> names) {
        if (names == null || names.isEmpty()) {
            return Component.all();
        }
        Set<Component> out = EnumSet.noneOf(Component.class);
        for (String name : names) {
            try {
                out.add(Component.parse(name));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--components: " + e.getMessage());
            }
        }
        return out;
    }
}
