package dev.engagement.pipeline.topic;

import dev.engagement.pipeline.config.PipelineConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Creates the pipeline's topics if they are missing, and checks the ones that exist: a wrong
 * partition count re-hashes content ids (per-content order and every stored position break), a
 * compacted event topic drops events, a deleting compacted topic forgets positions and settled ids,
 * a retention shorter than the minimum expires records before a sink that was away can read them.
 * Every problem is reported at once and the start is refused. Idempotent; safe from many processes.
 */
public final class TopicAdmin {
    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

    private TopicAdmin() {
    }

    public static void ensureTopics(PipelineConfig config) {
        ensure(config, Topics.all(config.kafka().partitions(), config.kafka().replicationFactor()));
    }

    /** Creates these topics if they are missing and checks the ones that exist. */
    public static void ensure(PipelineConfig config, List<Topics.TopicSpec> specs) {
        try (Admin admin = Admin.create(KafkaClients.admin(config))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = specs.stream()
                    .filter(t -> !existing.contains(t.name()))
                    .map(t -> new NewTopic(t.name(), t.partitions(), t.replicationFactor()).configs(t.config()))
                    .toList();
            if (!missing.isEmpty()) {
                create(admin, missing);
            }
            List<String> problems = checkWhenKnown(admin, specs);
            if (!problems.isEmpty()) {
                throw new IllegalStateException("the pipeline's topics on " + config.kafka().bootstrapServers()
                        + " are not as it needs them:\n  - " + String.join("\n  - ", problems)
                        + "\nFix them with kafka-configs.sh / kafka-topics.sh (partitions cannot shrink: re-create the "
                        + "topic, and let the pipeline rebuild from the source), then start again");
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot create or check topics on " + config.kafka().bootstrapServers() + ": "
                    + (e instanceof TimeoutException ? "no answer within 30 s (is the broker running there?)"
                    : e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    private static void create(Admin admin, List<NewTopic> missing)
            throws ExecutionException, InterruptedException, TimeoutException {
        for (var entry : admin.createTopics(missing).values().entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                    LOG.info("created topic {}", entry.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
            }
        }
    }

    /** {@link #check}, waiting up to 30 s for topics just created to be known to the broker answering. */
    private static List<String> checkWhenKnown(Admin admin, List<Topics.TopicSpec> specs)
            throws ExecutionException, InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return check(admin, specs);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200); // metadata of a topic just created reaches every broker within moments
            }
        }
    }

    /** Every way the existing topics differ from what the pipeline needs, in words. */
    static List<String> check(Admin admin, List<Topics.TopicSpec> specs)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<String, TopicDescription> described = admin.describeTopics(specs.stream().map(Topics.TopicSpec::name)
                .toList()).allTopicNames().get(30, TimeUnit.SECONDS);
        Map<ConfigResource, Config> configs = admin.describeConfigs(specs.stream()
                .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t.name())).toList()).all().get(30, TimeUnit.SECONDS);
        List<String> problems = new ArrayList<>();
        for (Topics.TopicSpec spec : specs) {
            int partitions = described.get(spec.name()).partitions().size();
            Config c = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, spec.name()));
            problems.addAll(problems(spec, partitions, value(c, "cleanup.policy"), value(c, "retention.ms")));
        }
        return problems;
    }

    /** The problems of one topic with these partitions, cleanup.policy and retention.ms. */
    static List<String> problems(Topics.TopicSpec spec, int partitions, String cleanupPolicy, String retentionMs) {
        List<String> problems = new ArrayList<>();
        if (partitions != spec.partitions()) {
            problems.add(spec.name() + " has " + partitions + " partitions, the pipeline needs " + spec.partitions()
                    + (spec.partitions() == 1 ? " (it is read whole, from partition 0)"
                    : " (KAFKA_PARTITIONS; every keyed topic must have the same count, or content ids land elsewhere)"));
        }
        Set<String> policy = cleanupPolicy == null ? Set.of("delete")
                : Set.of(cleanupPolicy.replace(" ", "").split(","));
        if (spec.compacted() && !policy.equals(Set.of("compact"))) {
            problems.add(spec.name() + " has cleanup.policy=" + cleanupPolicy + ", it must be compact (with delete, "
                    + "the positions and ids it keeps expire and events are applied again)");
        }
        if (!spec.compacted() && policy.contains("compact")) {
            problems.add(spec.name() + " has cleanup.policy=" + cleanupPolicy + ", it must be delete (compaction keeps "
                    + "one record per key and drops the other events)");
        }
        if (!spec.compacted() && policy.contains("delete") && retentionMs != null) {
            long retention = Long.parseLong(retentionMs);
            if (retention >= 0 && retention < spec.minRetentionMs()) {
                problems.add(spec.name() + " has retention.ms=" + retention + " (" + Duration.ofMillis(retention)
                        + "), shorter than the minimum " + spec.minRetentionMs() + " ("
                        + Duration.ofMillis(spec.minRetentionMs()) + "): records would expire before a consumer "
                        + "that was away reads them");
            }
        }
        return problems;
    }

    private static String value(Config config, String name) {
        ConfigEntry entry = config == null ? null : config.get(name);
        return entry == null ? null : entry.value();
    }
}
