package dev.engagement.pipeline.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Chromium, headless, as the tests' browser: it loads a page, runs its scripts for a
 * while of virtual time, and gives back the DOM as it then is (or a screenshot). The launcher
 * installs the package for ./pipeline test when it is missing.
 */
public final class Chromium {
    private static final Path BINARY = Path.of("/usr/bin/chromium");

    private Chromium() {
    }

    public static boolean available() {
        return Files.isExecutable(BINARY);
    }

    /** The page's DOM after its scripts ran for {@code budgetMs} of virtual time, and what the browser logged. */
    public static Result dumpDom(String url, long budgetMs, Path workDir) throws Exception {
        return run(workDir, List.of("--virtual-time-budget=" + budgetMs, "--dump-dom", url));
    }

    public static Result screenshot(String url, long budgetMs, Path png, int width, int height, Path workDir)
            throws Exception {
        return run(workDir, List.of("--virtual-time-budget=" + budgetMs, "--window-size=" + width + "," + height,
                "--screenshot=" + png.toAbsolutePath(), url));
    }

    public record Result(String dom, String log) {
    }

    private static Result run(Path workDir, List<String> args) throws Exception {
        Files.createDirectories(workDir);
        Path profile = Files.createTempDirectory(workDir, "chromium-profile");
        List<String> command = new ArrayList<>(List.of(BINARY.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
                "--user-data-dir=" + profile));
        command.addAll(args);
        Path out = workDir.resolve("chromium-" + System.nanoTime() + ".out");
        Path err = workDir.resolve("chromium-" + System.nanoTime() + ".err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("chromium did not finish in 120 s: " + Files.readString(err));
        }
        return new Result(Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
