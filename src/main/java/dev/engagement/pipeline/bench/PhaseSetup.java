package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.generate.EventGenerator;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a phase that runs a pipeline of its own needs: the pipeline's environment, the bench's
 * configuration (to reach the services), the load generator, a folder and where to print.
 */
record PhaseSetup(Map<String, String> env, PipelineConfig config, EventGenerator generator, Path dir, PrintStream out) {

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
