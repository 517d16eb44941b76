package dev.engagement.pipeline.config;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import java.nio.file.Path;

/** Applies LOG_LEVEL and, for the demo, moves the JSON log from the terminal into a file. */
public final class Logging {
    private Logging() {
    }

    public static void configure(PipelineConfig config) {
        SecretMasker.register(config.postgres().password());
        SecretMasker.register(config.externalApi().token());
        SecretMasker.register(config.http().adminToken());
        config.kafka().clientConfig().forEach((key, value) -> {
            if (secretKafkaKey(key)) {
                SecretMasker.register(Secret.of(value));
                jaasPassword(value).ifPresent(pw -> SecretMasker.register(Secret.of(pw)));
            }
        });
        String redisPassword = redisPassword(config.redis().url().reveal());
        if (redisPassword != null) {
            SecretMasker.register(Secret.of(redisPassword));
        }
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(config.logLevel(), Level.INFO));
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
    }

    /** Sends the JSON log to {@code file} instead of standard error. */
    public static void toFile(Path file) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Appender<ILoggingEvent> console = root.getAppender("JSON");
        if (!(console instanceof ConsoleAppender<ILoggingEvent> c)) {
            return;
        }
        Encoder<ILoggingEvent> encoder = c.getEncoder();
        FileAppender<ILoggingEvent> file1 = new FileAppender<>();
        file1.setContext(ctx);
        file1.setName("FILE");
        file1.setFile(file.toAbsolutePath().toString());
        file1.setAppend(true);
        file1.setEncoder(encoder);
        file1.start();
        root.addAppender(file1);
        root.detachAppender(console);
    }

    /** Kafka client settings whose values are secrets: passwords, keys, JAAS configurations. */
    static boolean secretKafkaKey(String key) {
        String k = key.toLowerCase(java.util.Locale.ROOT);
        return k.contains("password") || k.contains("jaas") || k.contains("secret") || k.endsWith(".key")
                || k.contains("token") || k.contains("credentials");
    }

    /** The password="..." inside a JAAS line, which may show up on its own in a client's error. */
    static java.util.Optional<String> jaasPassword(String jaas) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("password\\s*=\\s*\"([^\"]*)\"").matcher(jaas);
        return m.find() ? java.util.Optional.of(m.group(1)) : java.util.Optional.empty();
    }

    static String redisPassword(String url) {
        try {
            String userInfo = java.net.URI.create(url).getUserInfo();
            if (userInfo == null) {
                return null;
            }
            int colon = userInfo.indexOf(':');
            return colon < 0 ? userInfo : userInfo.substring(colon + 1);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
