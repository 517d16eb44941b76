package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.sink.Gaps;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "accept-gap", mixinStandardHelpOptions = true,
        description = {"Accepts that a stage never gets records that expired from Kafka before it read them.",
                "A stage whose stored position is below a topic's first offset (it was away longer than the "
                        + "topic's retention) stops that partition and reports the gap in /health, the log and "
                        + "pipeline_sink_gap_records, rather than skip it. This records the acceptance; the "
                        + "running stage resumes at the topic's first offset within seconds. Then refill what "
                        + "was lost with ./pipeline backfill --from-id N --to-id M."})
final class AcceptGapCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--stage", required = true, paramLabel = "STAGE",
            description = "The stage that reported the gap: redis, warehouse, http or processor.")
    String stage;

    @Option(names = "--partition", split = ",", paramLabel = "N",
            description = "Only these partitions (default: every partition of the stage's topics).")
    List<Integer> partitions;

    @Override
    public Integer call() throws Exception {
        Map<String, List<String>> stages = Gaps.stages();
        Options.oneOf(spec, "--stage", stage, stages.keySet().toArray(String[]::new));
        PipelineConfig config = Cli.config();
        Map<TopicPartition, Long> accepted = Gaps.accept(config, stage, stages.get(stage),
                partitions == null ? java.util.Set.of() : new HashSet<>(partitions));
        accepted.forEach((tp, offset) -> System.out.printf("%s partition %d: whatever expired before offset %,d "
                + "is accepted as lost to the %s stage%n", tp.topic(), tp.partition(), offset, stage));
        System.out.printf("accepted %d partitions; a stopped %s stage resumes within seconds%n", accepted.size(), stage);
        return 0;
    }
}
