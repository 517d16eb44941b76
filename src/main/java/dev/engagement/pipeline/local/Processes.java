package dev.engagement.pipeline.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the local services' command-line tools, as the postgres user where PostgreSQL insists. */
final class Processes {
    private Processes() {
    }

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Runs a command to completion; throws with its output when it fails. */
    static String run(List<String> command, long timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): "
                        + text.strip());
            }
            return text;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command.get(0), e);
        }
    }

    static List<String> as(String user, List<String> command) {
        if (!isRoot()) {
            return command;
        }
        List<String> c = new ArrayList<>(List.of("runuser", "-u", user, "--"));
        c.addAll(command);
        return c;
    }

    /** The first executable found among candidate paths, or on the PATH. */
    static Path find(String name, List<Path> candidates) {
        for (Path c : candidates) {
            if (Files.isExecutable(c)) {
                return c;
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir, name);
            if (!dir.isEmpty() && Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IllegalStateException(name + " not found; install it (Debian: apt-get install -y "
                + ("redis-server".equals(name) ? "redis-server" : "postgresql") + ") or point the settings at a running one");
    }
}
