package dev.engagement.pipeline.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.Json;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The lines one logger writes, as the pipeline's JSON encoder renders them. */
public final class LogCapture implements AutoCloseable {
    private final Logger logger;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final LogstashEncoder encoder = new LogstashEncoder();

    public LogCapture(Class<?> source) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        logger = ctx.getLogger(source);
        appender.setContext(ctx);
        appender.start();
        encoder.setContext(ctx);
        encoder.start();
        logger.addAppender(appender);
    }

    /** Every line so far, parsed from the encoder's JSON. */
    public List<JsonNode> lines() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (ILoggingEvent e : new ArrayList<>(appender.list)) {
            out.add(Json.MAPPER.readTree(encoder.encode(e)));
        }
        return out;
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
        encoder.stop();
    }
}
