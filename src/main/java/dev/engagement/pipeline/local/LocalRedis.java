package dev.engagement.pipeline.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A private redis-server on a loopback port, with an append-only file so that a stop and a start
 * keep the aggregates (fault tests stop it on purpose). Runs as a child process.
 */
public final class LocalRedis implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalRedis.class);

    private final Path dir;
    private final int port;
    private final List<String> extra;
    private Process process;

    private LocalRedis(Path dir, int port, List<String> extra) {
        this.dir = dir;
        this.port = port;
        this.extra = List.copyOf(extra);
    }

    public static LocalRedis start(Path dir, int port) {
        return start(dir, port, List.of());
    }

    /** With more redis-server arguments, which win over the defaults (e.g. "--appendonly", "no"). */
    public static LocalRedis start(Path dir, int port, List<String> extra) {
        LocalRedis redis = new LocalRedis(dir.toAbsolutePath(), port, extra);
        redis.start();
        return redis;
    }

    public Path dir() {
        return dir;
    }

    public int port() {
        return port;
    }

    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    /** Starts the server again after {@link #stop()}, on the same port and files. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        try {
            Files.createDirectories(dir);
            Path server = Processes.find("redis-server", List.of(Path.of("/usr/bin/redis-server")));
            List<String> command = new java.util.ArrayList<>(List.of(server.toString(), "--port", Integer.toString(port),
                    "--bind", "127.0.0.1", "--dir", dir.toString(), "--appendonly", "yes", "--appendfsync", "everysec",
                    "--save", "", "--daemonize", "no", "--protected-mode", "no",
                    "--logfile", dir.resolve("redis.log").toString(), "--pidfile", dir.resolve("redis.pid").toString()));
            command.addAll(extra);
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("redis.out").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start redis-server", e);
        }
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!Ports.open("127.0.0.1", port)) {
            if (!process.isAlive() || Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("redis-server did not start on port " + port + "; see " + dir);
            }
            sleep();
        }
        LOG.info("private Redis is up on 127.0.0.1:{}", port);
    }

    /** Stops a redis-server left running in {@code dir} by a process that died without stopping it. */
    public static void stopStale(Path dir) {
        Path pidFile = dir.toAbsolutePath().resolve("redis.pid");
        try {
            if (!Files.exists(pidFile)) {
                return;
            }
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(h -> h.info().command().map(c -> c.contains("redis-server")).orElse(false)).ifPresent(h -> {
                LOG.info("stopping a redis-server left running in {}", dir);
                h.destroy();
                h.onExit().orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).join();
            });
        } catch (IOException | NumberFormatException e) {
            LOG.warn("cannot read {}: {}", pidFile, e.getMessage());
        }
    }

    /** Stops the server cleanly (the append-only file is flushed). */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy(); // SIGTERM: redis-server flushes its AOF and exits
        try {
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** kill -9: nothing is flushed, the server stops mid-stride. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    @Override
    public void close() {
        stop();
    }

    private static void sleep() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
