package dev.engagement.pipeline.server;

import dev.engagement.pipeline.testing.Chromium;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.Sql;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The dashboard in a real browser (headless Chromium) against a running pipeline, with content
 * titles that are markup and script: nothing of them runs, they show as text, and the page keeps
 * to its Content-Security-Policy.
 */
class DashboardXssIT {
    private static final String IMG = "<img src=x onerror=\"document.title='pwned-by-img'\">";
    private static final String SCRIPT = "<script>document.title='pwned-by-script'</script>";

    @Test
    void hostileTitlesShowAsTextAndRunNothing() throws Exception {
        assertThat(Chromium.available()).as("Debian's chromium (./pipeline test installs it)").isTrue();
        try (Scenario s = Scenario.create("dashboard_xss", 20001)) {
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            try (Sql sql = new Sql(s.config.postgres())) {
                UUID img = sql.content(IMG, "video", 600);
                UUID script = sql.content(SCRIPT + " & <b>bold</b>", "video", 600);
                for (int i = 0; i < 5; i++) {
                    sql.event(img, "play", 60_000);
                    sql.event(script, "play", 50_000);
                }
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() == 10);
            Chromium.Result page = Chromium.dumpDom("http://127.0.0.1:" + s.port() + "/", 6000, s.dir.resolve("browser"));
            String dom = page.dom();
            assertThat(dom).as("the top list was drawn").contains("Top content").contains("&lt;img src=x");
            assertThat(dom).as("the titles show as text").contains("&lt;script&gt;document.title='pwned-by-script'")
                    .contains("&lt;b&gt;bold&lt;/b&gt;");
            assertThat(dom).as("no element made of a title").doesNotContain("<img src=\"x\"")
                    .doesNotContain("<b>bold</b>").doesNotContain("pwned-by-script'</script>");
            assertThat(dom).contains("<title>engagement-pipeline</title>");
            assertThat(page.log()).as("nothing broke the Content-Security-Policy")
                    .doesNotContain("Content Security Policy").doesNotContain("Refused to");
            assertThat(dom).as("the counters were filled in by the script").containsPattern(
                    "id=\"k-events\">10<");
        }
    }
}
