package dev.engagement.pipeline.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The shaded jar run as a separate process, as users run it, so that tests can stop it the hard way
 * (kill -9), freeze it (SIGSTOP) and read what it printed.
 */
public final class PipelineProcess implements AutoCloseable {
    private static final Path JAR = Path.of(System.getProperty("pipeline.jar", "target/engagement-pipeline.jar"));

    private final Process process;
    private final Path output;

    private PipelineProcess(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    public static final String TEST_JVM_XMX = "TEST_JVM_XMX";

    public static PipelineProcess start(Map<String, String> env, Path workDir, String... args) throws IOException {
        // TEST_JVM_XMX: a test that measures the process's memory gives it a smaller heap
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + env.getOrDefault(TEST_JVM_XMX, "1g"), "-Dsun.net.httpserver.nodelay=true"));
        // The JIT's first tier only: a test's pipeline lives a minute or two, and on two cores the
        // optimising compiler's work for each new process cost more than the faster code it brought
        // (the suite ran 10 % longer with it). Correctness does not depend on the tier; the bench
        // (ChildPipeline) runs the JVM as shipped.
        command.add("-XX:TieredStopAtLevel=1");
        command.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
        command.addAll(List.of(args));
        Files.createDirectories(workDir);
        Path output = workDir.resolve("process-" + System.nanoTime() + ".log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(output.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("POSTGRES_") || k.startsWith("KAFKA_") || k.startsWith("REDIS_")
                || k.startsWith("EXTERNAL_API_") || k.equals("HTTP_PORT") || k.equals("WAREHOUSE") || k.equals("DUCKDB_PATH")
                || k.startsWith("BIGQUERY_") || k.startsWith("GOOGLE_"));
        pb.environment().putAll(env);
        return new PipelineProcess(pb.start(), output);
    }

    /** The process's peak resident set (VmHWM) so far, in MiB; 0 once it ended. */
    public long peakRssMib() {
        return dev.engagement.pipeline.bench.Procfs.peakRssMib(process.pid());
    }

    /** Runs to completion and returns the exit code. */
    public int waitFor(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("process did not finish in " + seconds + " s; output:\n" + output());
        }
        return process.exitValue();
    }

    public long pid() {
        return process.pid();
    }

    /** Frozen by SIGSTOP (state T in /proc). */
    public boolean stopped() throws IOException {
        String stat = Files.readString(Path.of("/proc/" + process.pid() + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).startsWith("T");
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** kill -9: no shutdown hook, no flush, no goodbye. */
    public void kill9() throws InterruptedException {
        signal("KILL");
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM: the clean stop a service manager sends. */
    public int terminate(long seconds) throws InterruptedException {
        signal("TERM");
        return waitFor(seconds);
    }

    public void signal(String name) {
        try {
            int rc = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
            if (rc != 0) {
                throw new IllegalStateException("kill -" + name + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public String output() {
        try {
            return Files.readString(output, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            signal("CONT");
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
