package dev.engagement.pipeline.testing;

import dev.engagement.pipeline.local.LocalRedis;
import dev.engagement.pipeline.local.Ports;
import io.lettuce.core.RedisClient;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A real Redis Cluster on loopback ports for tests: {@code masters} redis-servers with
 * {@code --cluster-enabled yes} (and {@code replicas} per master), joined by
 * {@code redis-cli --cluster create}; node time-out 2 s, so a killed master's replica takes over
 * within seconds. Resharding goes through {@code redis-cli --cluster reshard}, as an operator's would.
 */
public final class LocalRedisCluster implements AutoCloseable {
    private final List<LocalRedis> nodes = new ArrayList<>();

    private LocalRedisCluster() {
    }

    public static LocalRedisCluster start(Path dir, int masters, int replicas) throws Exception {
        LocalRedisCluster cluster = new LocalRedisCluster();
        int count = masters * (1 + replicas);
        for (int i = 0; i < count; i++) {
            int port = Ports.free();
            cluster.nodes.add(LocalRedis.start(dir.resolve("node-" + port), port, List.of(
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                    "--maxmemory-policy", "noeviction")));
        }
        List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
        cluster.nodes.forEach(n -> create.add("127.0.0.1:" + n.port()));
        create.addAll(List.of("--cluster-replicas", Integer.toString(replicas), "--cluster-yes"));
        run(create, dir.resolve("create.out"));
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(cluster::healthy);
        return cluster;
    }

    /** REDIS_CLUSTER_NODES for the pipeline: every node. */
    public String nodes() {
        return String.join(",", nodes.stream().map(n -> "127.0.0.1:" + n.port()).toList());
    }

    public List<LocalRedis> servers() {
        return nodes;
    }

    /** Every live node says cluster_state:ok and knows every slot. */
    public boolean healthy() {
        for (LocalRedis n : nodes) {
            String info = command(n.port(), "cluster", "info");
            if (info == null) {
                continue; // a killed node
            }
            if (!info.contains("cluster_state:ok") || !info.contains("cluster_slots_assigned:16384")) {
                return false;
            }
        }
        return true;
    }

    /** The node ids of the masters, as the node on {@code port} sees them. */
    public List<String[]> masters() {
        for (LocalRedis n : nodes) {
            String out = command(n.port(), "cluster", "nodes");
            if (out == null) {
                continue;
            }
            List<String[]> masters = new ArrayList<>();
            for (String line : out.split("\n")) {
                String[] f = line.trim().split(" ");
                if (f.length > 2 && f[2].contains("master") && !f[2].contains("fail")) {
                    masters.add(new String[] {f[0], f[1].split("@")[0]});
                }
            }
            return masters;
        }
        throw new IllegalStateException("no node answers");
    }

    /** Moves {@code slots} slots from one master to another with redis-cli, keys and all. */
    public void reshard(String fromId, String toId, int slots, Path log) throws Exception {
        LocalRedis any = nodes.stream().filter(n -> command(n.port(), "ping") != null).findFirst().orElseThrow();
        run(List.of("redis-cli", "--cluster", "reshard", "127.0.0.1:" + any.port(), "--cluster-from", fromId,
                "--cluster-to", toId, "--cluster-slots", Integer.toString(slots), "--cluster-yes",
                "--cluster-pipeline", "50"), log);
    }

    /** The server listening on {@code hostPort} ("127.0.0.1:port"). */
    public LocalRedis server(String hostPort) {
        int port = Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
        return nodes.stream().filter(n -> n.port() == port).findFirst().orElseThrow();
    }

    /** The answer of redis-cli on {@code port}, or null when the node does not answer. */
    static String command(int port, String... args) {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-p", Integer.toString(port)));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0 || out.startsWith("Could not connect")) {
                return null;
            }
            return out;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static void run(List<String> command, Path log) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed; see " + log + ":\n"
                    + java.nio.file.Files.readString(log));
        }
    }

    /** Deletes every key on every master (between tests). */
    public void flush() {
        for (LocalRedis n : nodes) {
            RedisClient c = RedisClient.create(n.url());
            try (var conn = c.connect()) {
                conn.sync().flushall();
            } catch (RuntimeException e) {
                // a replica refuses writes, a killed node does not answer
            } finally {
                c.shutdown();
            }
        }
    }

    @Override
    public void close() {
        nodes.forEach(LocalRedis::close);
    }
}
