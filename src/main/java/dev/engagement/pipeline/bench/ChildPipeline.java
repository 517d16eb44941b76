package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.local.Ports;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The pipeline in a process of its own ({@code java -jar <this jar> run}), so that the CPU and heap
 * it reports are its own: the broker, the load generator and the API stand-in stay in the bench's
 * process. Its figures come from its {@code /metrics}, scraped on demand; its CPU from /proc.
 */
final class ChildPipeline implements AutoCloseable {
    /**
     * The child's JVM as {@code ./pipeline} starts it: its default heap (896 MiB, so that heap, DuckDB
     * and the JVM's native share fit 1.5 GiB) and the parallel collector; the
     * system property {@code bench.pipeline.jvm} (space-separated) replaces them, to compare choices.
     */
    static final List<String> JVM_OPTIONS = System.getProperty("bench.pipeline.jvm") != null
            ? List.of(System.getProperty("bench.pipeline.jvm").trim().split("\\s+"))
            : List.of("-Xmx896m", "-XX:+UseParallelGC", "-XX:+ExitOnOutOfMemoryError", "-Dsun.net.httpserver.nodelay=true");

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    final Process process;
    final int port;
    final Path log;
    private volatile Scrape last = Scrape.EMPTY;
    private double peakHeapBytes;

    private ChildPipeline(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /**
     * Starts {@code run --components <components>} with {@code env} (HTTP_PORT chosen here) in
     * {@code dir}; {@code jvmOptions} come before the jar.
     */
    static ChildPipeline start(Map<String, String> env, String components, Path dir, List<String> jvmOptions)
            throws IOException {
        int port = Ports.free();
        Files.createDirectories(dir);
        Path log = dir.resolve("process-" + System.nanoTime() + ".log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", ownJar().toString(), "run", "--components", components));
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PIPELINE_TEST_"));
        pb.environment().putIfAbsent("MALLOC_ARENA_MAX", "2"); // as ./pipeline starts it
        pb.environment().putAll(env);
        pb.environment().put("HTTP_PORT", Integer.toString(port));
        return new ChildPipeline(pb.start(), port, log);
    }

    /** The last scrape of its /metrics. */
    Scrape metrics() {
        return last;
    }

    /** The largest heap in use over every scrape so far, in bytes. */
    double peakHeapBytes() {
        return peakHeapBytes;
    }

    boolean logContains(String text) {
        try {
            return Files.readString(log).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    /** Scrapes /metrics every 100 ms (a scrape costs the pipeline a little CPU) until {@code done}; fails if the process ends first or time runs out. */
    void await(BooleanSupplier done, Duration within, java.util.function.Supplier<String> progress) throws Exception {
        long until = System.nanoTime() + within.toNanos();
        while (true) {
            scrape();
            if (done.getAsBoolean()) {
                return;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("the pipeline process ended (exit " + process.exitValue() + "); see " + log);
            }
            if (System.nanoTime() > until) {
                throw new IllegalStateException("the pipeline did not get there within " + within + ": " + progress.get()
                        + "; see " + log);
            }
            Thread.sleep(100);
        }
    }

    /** Reads /metrics once (an unreachable endpoint keeps the last reading). */
    Scrape scrape() {
        try {
            String body = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
            Scrape s = Scrape.parse(body);
            last = s;
            peakHeapBytes = Math.max(peakHeapBytes, s.sum("jvm_memory_used_bytes", "area", "heap"));
        } catch (IOException e) {
            // not listening yet
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return last;
    }

    /** User and system CPU of the process so far, in nanoseconds. */
    long cpuNanos() {
        return Procfs.cpuNanos(process.pid());
    }

    /** Its peak resident set, in MiB. */
    long peakRssMib() {
        return Procfs.peakRssMib(process.pid());
    }

    /** Kills the process as kill -9 does: no shutdown hook, nothing flushed. */
    void kill9() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static Path ownJar() {
        try {
            return Path.of(ChildPipeline.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One reading of a Prometheus text page: each sample by name, with its labels. */
    record Scrape(Map<String, List<Sample>> byName) {
        static final Scrape EMPTY = new Scrape(Map.of());

        record Sample(Map<String, String> labels, double value) {
        }

        static Scrape parse(String body) {
            Map<String, List<Sample>> m = new HashMap<>();
            for (String line : body.split("\n")) {
                if (line.isEmpty() || line.charAt(0) == '#') {
                    continue;
                }
                int brace = line.indexOf('{');
                int space = line.lastIndexOf(' ');
                if (space < 0) {
                    continue;
                }
                String name;
                Map<String, String> labels = new HashMap<>();
                if (brace >= 0 && brace < space) {
                    name = line.substring(0, brace);
                    String inner = line.substring(brace + 1, line.lastIndexOf('}'));
                    int i = 0;
                    while (i < inner.length()) {
                        int eq = inner.indexOf('=', i);
                        if (eq < 0) {
                            break;
                        }
                        int q1 = inner.indexOf('"', eq);
                        int q2 = q1 + 1;
                        StringBuilder v = new StringBuilder();
                        while (q2 < inner.length() && inner.charAt(q2) != '"') {
                            char ch = inner.charAt(q2);
                            if (ch == '\\' && q2 + 1 < inner.length()) {
                                q2++;
                                ch = inner.charAt(q2);
                            }
                            v.append(ch);
                            q2++;
                        }
                        labels.put(inner.substring(i, eq).strip().replaceFirst("^,", ""), v.toString());
                        i = q2 + 1;
                        while (i < inner.length() && (inner.charAt(i) == ',' || inner.charAt(i) == ' ')) {
                            i++;
                        }
                    }
                } else {
                    name = line.substring(0, space);
                }
                double value;
                try {
                    value = Double.parseDouble(line.substring(space + 1));
                } catch (NumberFormatException e) {
                    continue;
                }
                m.computeIfAbsent(name, k -> new ArrayList<>()).add(new Sample(labels, value));
            }
            return new Scrape(m);
        }

        /** The sum of a metric's samples, narrowed to one label value unless {@code label} is null. */
        double sum(String name, String label, String value) {
            double total = 0;
            for (Sample s : byName.getOrDefault(name, List.of())) {
                if (label == null || value.equals(s.labels().get(label))) {
                    total += s.value();
                }
            }
            return total;
        }

        /** One label's values of a metric, each with the sum of its samples. */
        Map<String, Double> byLabel(String name, String label) {
            Map<String, Double> m = new HashMap<>();
            for (Sample s : byName.getOrDefault(name, List.of())) {
                String v = s.labels().get(label);
                if (v != null) {
                    m.merge(v, s.value(), Double::sum);
                }
            }
            return m;
        }

        /** A histogram's cumulative bucket counts for samples with {@code label=value}, by upper bound (seconds). */
        java.util.NavigableMap<Double, Double> buckets(String name, String label, String value) {
            java.util.NavigableMap<Double, Double> m = new java.util.TreeMap<>();
            for (Sample s : byName.getOrDefault(name + "_bucket", List.of())) {
                if (value.equals(s.labels().get(label))) {
                    String le = s.labels().get("le");
                    double bound = "+Inf".equals(le) ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
                    m.merge(bound, s.value(), Double::sum);
                }
            }
            return m;
        }
    }
}
