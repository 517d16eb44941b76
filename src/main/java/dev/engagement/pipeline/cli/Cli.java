package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.Logging;
import dev.engagement.pipeline.config.PipelineConfig;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/** What every command shares: loading the settings, and running until Ctrl-C or SIGTERM. */
final class Cli {
    private Cli() {
    }

    static Map<String, String> environment() {
        return ConfigLoader.environment(Path.of("").toAbsolutePath());
    }

    /** Loads and validates the settings (all problems at once) and applies LOG_LEVEL. */
    static PipelineConfig config() {
        return config(environment());
    }

    static PipelineConfig config(Map<String, String> env) {
        PipelineConfig config = ConfigLoader.load(env);
        Logging.configure(config);
        return config;
    }

    /** Blocks until the process is asked to stop, then runs {@code onStop} before it exits. */
    static void runUntilStopped(Runnable onStop) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                onStop.run();
            } finally {
                stopped.countDown();
            }
        }, "shutdown"));
        stopped.await();
    }
}
