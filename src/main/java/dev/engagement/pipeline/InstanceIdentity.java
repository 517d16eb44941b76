package dev.engagement.pipeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * The stable identity of a pipeline process when INSTANCE_ID is not set: generated once into
 * {@code DATA_DIR/instance-id} and read back on every start, so a process killed and restarted
 * with the same DATA_DIR rejoins its Kafka groups at once (static membership) instead of waiting
 * for its old session to expire. Two processes must never share it, so the directory is locked
 * for as long as the process runs.
 */
public final class InstanceIdentity implements AutoCloseable {
    static final String FILE = "instance-id";
    private final String id;
    private final FileChannel channel;
    private final FileLock lock;

    private InstanceIdentity(String id, FileChannel channel, FileLock lock) {
        this.id = id;
        this.channel = channel;
        this.lock = lock;
    }

    public static InstanceIdentity of(Path dataDir) {
        try {
            Files.createDirectories(dataDir);
            FileChannel channel = FileChannel.open(dataDir.resolve("instance.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                throw new IllegalStateException("DATA_DIR " + dataDir.toAbsolutePath() + " is in use by another "
                        + "pipeline process: give each process its own DATA_DIR, or its own INSTANCE_ID");
            }
            Path file = dataDir.resolve(FILE);
            String id = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8).strip() : "";
            if (!id.matches("[A-Za-z0-9._\\-]{1,100}")) {
                id = host() + "-" + UUID.randomUUID().toString().substring(0, 8);
                Files.writeString(file, id + "\n", StandardCharsets.UTF_8);
            }
            return new InstanceIdentity(id, channel, lock);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the instance identity in " + dataDir, e);
        }
    }

    private static String host() {
        String h;
        try {
            h = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            h = "host";
        }
        h = h.replaceAll("[^A-Za-z0-9.\\-]", "-");
        return h.length() > 60 ? h.substring(0, 60) : h;
    }

    public String id() {
        return id;
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            // the lock goes with the process anyway
        }
    }
}
