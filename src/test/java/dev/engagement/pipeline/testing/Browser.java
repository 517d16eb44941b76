package dev.engagement.pipeline.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.model.Json;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;

/**
 * Debian's headless Chromium driven over the DevTools protocol: open a page, let its scripts run
 * in real time, read what it shows (a JavaScript expression), resize it, take a screenshot. What
 * the page logs and every script error it throws are kept, so a test can say none happened.
 */
public final class Browser implements AutoCloseable {
    private final Process process;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> waiting = new ConcurrentHashMap<>();
    private final List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
    private final List<String> failedRequests = java.util.Collections.synchronizedList(new ArrayList<>());

    private Browser(Process process, WebSocket socket) {
        this.process = process;
        this.socket = socket;
    }

    public static Browser launch(Path workDir) throws Exception {
        Files.createDirectories(workDir);
        Path profile = Files.createTempDirectory(workDir, "chromium-profile");
        Process p = new ProcessBuilder("/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-port=0",
                "--remote-allow-origins=*", "--user-data-dir=" + profile, "about:blank")
                .redirectErrorStream(true).redirectOutput(workDir.resolve("chromium.log").toFile()).start();
        Path portFile = profile.resolve("DevToolsActivePort");
        try {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> Files.exists(portFile) && Files.readAllLines(portFile).size() >= 2);
            int port = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
            HttpClient http = HttpClient.newHttpClient();
            String ws = null;
            for (JsonNode target : Json.MAPPER.readTree(http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/json/list")).build(), HttpResponse.BodyHandlers.ofString()).body())) {
                if ("page".equals(target.path("type").asText())) {
                    ws = target.path("webSocketDebuggerUrl").asText();
                    break;
                }
            }
            if (ws == null) {
                throw new IllegalStateException("chromium shows no page to drive");
            }
            Listener listener = new Listener();
            WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create(ws), listener).get(30, TimeUnit.SECONDS);
            Browser b = new Browser(p, socket);
            listener.browser = b;
            b.call("Runtime.enable", Json.MAPPER.createObjectNode());
            b.call("Log.enable", Json.MAPPER.createObjectNode());
            b.call("Page.enable", Json.MAPPER.createObjectNode());
            return b;
        } catch (Exception | Error e) {
            p.destroyForcibly();
            throw e;
        }
    }

    /** Opens {@code url} at this window size and waits for it to load. */
    public void open(String url, int width, int height) throws Exception {
        resize(width, height);
        ObjectNode params = Json.MAPPER.createObjectNode().put("url", url);
        call("Page.navigate", params);
        await().atMost(Duration.ofSeconds(30)).until(() -> "complete".equals(eval("document.readyState").asText()));
    }

    public void resize(int width, int height) throws Exception {
        call("Emulation.setDeviceMetricsOverride", Json.MAPPER.createObjectNode().put("width", width)
                .put("height", height).put("deviceScaleFactor", 1).put("mobile", false));
    }

    /** The value of a JavaScript expression in the page (JSON values come back as such). */
    public JsonNode eval(String expression) throws Exception {
        JsonNode r = call("Runtime.evaluate", Json.MAPPER.createObjectNode().put("expression", expression)
                .put("returnByValue", true).put("awaitPromise", true));
        if (r.has("exceptionDetails")) {
            throw new IllegalStateException("the page threw on '" + expression + "': " + r.path("exceptionDetails"));
        }
        return r.path("result").path("value");
    }

    /** The text of the element with this id, or null when there is none. */
    public String text(String id) throws Exception {
        JsonNode v = eval("(e => e ? e.textContent : null)(document.getElementById(" + Json.MAPPER.writeValueAsString(id) + "))");
        return v.isNull() || v.isMissingNode() ? null : v.asText();
    }

    /** A PNG of the whole page at the current width. */
    public byte[] screenshot() throws Exception {
        JsonNode r = call("Page.captureScreenshot", Json.MAPPER.createObjectNode().put("format", "png")
                .put("captureBeyondViewport", true));
        return Base64.getDecoder().decode(r.path("data").asText());
    }

    /** Requests that failed or that the server answered with an error status, with their URL. */
    public List<String> failedRequests() {
        synchronized (failedRequests) {
            return List.copyOf(failedRequests);
        }
    }

    /** Script errors, CSP violations, and console errors or warnings the page produced so far. */
    public List<String> problems() {
        synchronized (problems) {
            return List.copyOf(problems);
        }
    }

    private JsonNode call(String method, ObjectNode params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        waiting.put(id, answer);
        ObjectNode msg = Json.MAPPER.createObjectNode().put("id", id).put("method", method);
        msg.set("params", params);
        synchronized (socket) {
            socket.sendText(Json.MAPPER.writeValueAsString(msg), true).get(30, TimeUnit.SECONDS);
        }
        JsonNode r = answer.get(60, TimeUnit.SECONDS);
        if (r.has("error")) {
            throw new IllegalStateException(method + ": " + r.path("error"));
        }
        return r.path("result");
    }

    private void onMessage(String text) {
        try {
            JsonNode m = Json.MAPPER.readTree(text);
            if (m.has("id")) {
                CompletableFuture<JsonNode> f = waiting.remove(m.path("id").asInt());
                if (f != null) {
                    f.complete(m);
                }
                return;
            }
            String method = m.path("method").asText();
            JsonNode params = m.path("params");
            if ("Runtime.exceptionThrown".equals(method)) {
                problems.add("exception: " + params.path("exceptionDetails"));
            } else if ("Runtime.consoleAPICalled".equals(method)
                    && List.of("error", "warning", "assert").contains(params.path("type").asText())) {
                problems.add("console " + params.path("type").asText() + ": " + params.path("args"));
            } else if ("Log.entryAdded".equals(method)
                    && List.of("error", "warning").contains(params.path("entry").path("level").asText())) {
                JsonNode entry = params.path("entry");
                String line = entry.path("source").asText() + ": " + entry.path("text").asText() + " "
                        + entry.path("url").asText("");
                // a request the server answered with an error status is the page's business (it shows
                // the state); script, security (CSP) and other entries are problems
                (("network".equals(entry.path("source").asText())) ? failedRequests : problems).add(line);
            }
        } catch (IOException e) {
            problems.add("unreadable DevTools message: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        socket.abort();
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();
        volatile Browser browser;

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                Browser b = browser;
                if (b != null) {
                    b.onMessage(text);
                }
            }
            webSocket.request(1);
            return null;
        }
    }
}
