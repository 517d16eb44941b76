package dev.engagement.pipeline.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A private PostgreSQL cluster with {@code wal_level=logical} on a loopback port, from the
 * machine's PostgreSQL packages. PostgreSQL refuses to run as root, so as root it runs as the
 * {@code postgres} user. A cluster already running in the directory is adopted.
 */
public final class LocalPostgres implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalPostgres.class);

    private final Path bin;
    private final Path dataDir;
    private final Path socketDir;
    private final int port;
    private final boolean durable;
    private final Tls tls;

    /** A server certificate and key (PEM): the cluster then accepts TCP connections over TLS only. */
    public record Tls(Path cert, Path key) {
    }

    private LocalPostgres(Path bin, Path home, int port, boolean durable, Tls tls) {
        this.bin = bin;
        this.dataDir = home.resolve("data");
        this.socketDir = home;
        this.port = port;
        this.durable = durable;
        this.tls = tls;
    }

    /**
     * Starts (or adopts) a cluster under {@code home}. {@code durable=false} turns fsync off, for
     * tests whose data need not survive a machine crash.
     */
    public static LocalPostgres start(Path home, int port, boolean durable) {
        return start(home, port, durable, null);
    }

    /** As {@link #start(Path, int, boolean)}; with {@code tls}, TCP connections must use TLS (ssl=on). */
    public static LocalPostgres start(Path home, int port, boolean durable, Tls tls) {
        LocalPostgres pg = new LocalPostgres(binDir(), accessible(home.toAbsolutePath()), port, durable, tls);
        pg.start();
        return pg;
    }

    public int port() {
        return port;
    }

    public String host() {
        return "127.0.0.1";
    }

    private void start() {
        try {
            Files.createDirectories(socketDir);
            chownToPostgres(socketDir);
            if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
                LOG.info("initialising a private PostgreSQL cluster in {}", dataDir);
                Processes.run(Processes.as("postgres", List.of(bin.resolve("initdb").toString(), "-D",
                        dataDir.toString(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")), 120);
            }
            if (running()) {
                throw new IllegalStateException("a PostgreSQL cluster is already running in " + dataDir);
            }
            List<String> opts = new ArrayList<>(List.of("-c port=" + port, "-c listen_addresses=127.0.0.1",
                    "-c unix_socket_directories=" + socketDir, "-c wal_level=logical", "-c max_replication_slots=32",
                    "-c max_wal_senders=32", "-c max_connections=200", "-c shared_buffers=256MB"));
            if (!durable) {
                opts.addAll(List.of("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"));
            }
            if (tls != null) {
                requireTls();
                opts.removeIf(o -> o.startsWith("-c listen_addresses="));
                opts.addAll(List.of("-c listen_addresses=localhost", "-c ssl=on", "-c ssl_cert_file=server.crt",
                        "-c ssl_key_file=server.key"));
            }
            Processes.run(Processes.as("postgres", List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(),
                    "-o", String.join(" ", opts), "-l", socketDir.resolve("postgres.log").toString(), "-w", "-t", "60",
                    "start")), 90);
            LOG.info("private PostgreSQL is up on 127.0.0.1:{}", port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The certificate and key in the data directory, and TCP connections over TLS only. */
    private void requireTls() throws IOException {
        Files.copy(tls.cert(), dataDir.resolve("server.crt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(tls.key(), dataDir.resolve("server.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(dataDir.resolve("pg_hba.conf"), String.join("\n",
                "local all all trust",
                "local replication all trust",
                "hostssl all all 127.0.0.1/32 trust",
                "hostssl replication all 127.0.0.1/32 trust",
                "hostssl all all ::1/128 trust",
                "hostssl replication all ::1/128 trust", ""));
        for (String f : List.of("server.crt", "server.key", "pg_hba.conf")) {
            if (Processes.isRoot()) {
                Processes.run(List.of("chown", "postgres:postgres", dataDir.resolve(f).toString()), 10);
            }
        }
        Files.setPosixFilePermissions(dataDir.resolve("server.key"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }

    private boolean running() {
        try {
            Processes.run(Processes.as("postgres", List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(),
                    "status")), 30);
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    @Override
    public void close() {
        try {
            Processes.run(Processes.as("postgres", List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(),
                    "-m", "fast", "-w", "stop")), 60);
        } catch (IllegalStateException e) {
            LOG.warn("stopping private PostgreSQL: {}", e.getMessage());
        }
    }

    /** Stops a cluster left running in {@code home} by a process that died without stopping it. */
    public static void stopStale(Path home) {
        LocalPostgres pg = new LocalPostgres(binDir(), accessible(home.toAbsolutePath()), 0, true, null);
        if (Files.exists(pg.dataDir.resolve("postmaster.pid")) && pg.running()) {
            LOG.info("stopping a PostgreSQL cluster left running in {}", pg.dataDir);
            pg.close();
        }
    }

    public static Path binDir() {
        Path root = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(root)) {
            try (Stream<Path> versions = Files.list(root)) {
                var found = versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
                        .max(Comparator.comparingInt(b -> versionOf(b.getParent().getFileName().toString())));
                if (found.isPresent()) {
                    return found.get();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return Processes.find("initdb", List.of()).getParent();
    }

    private static int versionOf(String name) {
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * As root the cluster runs as postgres, which must reach its directory. Where it cannot (a project
     * under /root, say), the cluster lives under /var/tmp instead, keyed by the requested path.
     */
    private static Path accessible(Path home) {
        if (!Processes.isRoot()) {
            return home;
        }
        Path probe = home;
        while (probe != null && !Files.exists(probe)) {
            probe = probe.getParent();
        }
        try {
            Processes.run(List.of("runuser", "-u", "postgres", "--", "test", "-x", String.valueOf(probe)), 10);
            return home;
        } catch (IllegalStateException e) {
            String key = Integer.toHexString(home.toString().hashCode());
            return Path.of("/var/tmp/engagement-pipeline-postgres-" + key);
        }
    }

    private static void chownToPostgres(Path dir) {
        if (Processes.isRoot()) {
            Processes.run(List.of("chown", "postgres:postgres", dir.toString()), 10);
        }
    }
}
