package dev.engagement.pipeline.process;

import org.apache.kafka.clients.admin.Admin;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The Kafka cluster and the topic ids that the processor's local state in DATA_DIR was built from.
 * Local state is only meaningful beside the Kafka it came from: kept across a move to a new broker
 * (or re-created topics), it made a restart skip the first-start preparation, find no committed
 * positions, and loop. Compared at every start; a mismatch names what changed.
 */
record KafkaBinding(String clusterId, Map<String, String> topicIds) {
    static final String FILE = "kafka-binding.properties";

    static KafkaBinding of(Admin admin, List<String> topics) throws Exception {
        String cluster = admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        Map<String, String> ids = new TreeMap<>();
        admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS)
                .forEach((name, d) -> ids.put(name, d.topicId().toString()));
        return new KafkaBinding(cluster, ids);
    }

    /** The binding recorded in {@code dir}, if any. */
    static Optional<KafkaBinding> read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        Map<String, String> ids = new TreeMap<>();
        p.stringPropertyNames().stream().filter(k -> k.startsWith("topic.")).forEach(k -> ids.put(k.substring(6), p.getProperty(k)));
        return Optional.of(new KafkaBinding(p.getProperty("cluster.id", ""), ids));
    }

    /** Writes the binding atomically (a crash leaves the old file or the new one, never half). */
    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Properties p = new Properties();
        p.setProperty("cluster.id", clusterId);
        topicIds.forEach((topic, id) -> p.setProperty("topic." + topic, id));
        Path tmp = dir.resolve(FILE + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "the Kafka this processor state was built from; see README, 'DATA_DIR and Kafka'");
        }
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** What differs between the state's binding ({@code this}) and the Kafka of now; empty when nothing does. */
    List<String> differences(KafkaBinding now) {
        List<String> out = new ArrayList<>();
        if (!clusterId.equals(now.clusterId)) {
            out.add("Kafka cluster " + clusterId + " then, " + now.clusterId + " now");
        }
        now.topicIds.forEach((topic, id) -> {
            String before = topicIds.get(topic);
            if (before != null && !before.equals(id)) {
                out.add("topic " + topic + " was re-created (id " + before + " then, " + id + " now)");
            }
        });
        return out;
    }
}
