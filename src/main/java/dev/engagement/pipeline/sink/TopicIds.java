package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.topic.KafkaClients;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Kafka's id of a topic: it tells a topic from a later one of the same name. */
final class TopicIds {
    private static final Logger LOG = LoggerFactory.getLogger(TopicIds.class);

    private TopicIds() {
    }

    /** Waits until the topic exists and returns its id (or null once {@code stop} says so). */
    static String await(PipelineConfig config, String topic, BooleanSupplier stop) {
        Duration wait = Duration.ofMillis(100);
        try (Admin admin = Admin.create(KafkaClients.admin(config))) {
            while (!stop.getAsBoolean()) {
                try {
                    return admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic)
                            .topicId().toString();
                } catch (Exception e) {
                    LOG.warn("waiting for topic {}: {}", topic, e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
                    try {
                        Thread.sleep(wait.toMillis());
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return null;
                    }
                    wait = Backoff.next(wait);
                }
            }
        }
        return null;
    }
}
