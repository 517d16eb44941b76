package dev.engagement.pipeline.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's settings table and .env.example describe exactly the settings the code reads. */
class SettingsDocTest {

    @Test
    void readmeAndEnvExampleListEverySettingWithItsDefault() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String example = Files.readString(Path.of(".env.example"));
        for (Setting s : Setting.values()) {
            String shownDefault = s.defaultValue().isEmpty() ? "(empty)" : "`" + s.defaultValue() + "`";
            assertThat(readme).as(s.name()).contains("| `" + s.name() + "` | " + shownDefault + " | " + s.description() + " |");
            assertThat(example).as(s.name()).contains("# " + s.name() + "=" + s.defaultValue());
        }
    }
}
