package dev.engagement.pipeline.sink.warehouse.bigquery;

import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.fault.BigQueryIT;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The BigQuery checks that do not need the fake's fault controls, against a real Google Cloud
 * project: {@code ./mvnw verify -Dtest=none -Dit.test=BigQueryRealIT -Dbigquery.project=P} with
 * credentials in GOOGLE_APPLICATION_CREDENTIALS (or Application Default Credentials). Each run
 * makes datasets named {@code ep_test_<scenario>_<random>}; delete them after. Skipped without
 * {@code -Dbigquery.project}: it is not part of {@code ./pipeline test}.
 */
class BigQueryRealIT {
    private static final String PROJECT = System.getProperty("bigquery.project", "");
    private static final String RUN = UUID.randomUUID().toString().substring(0, 6);

    @BeforeAll
    static void onlyWithAProject() {
        assumeTrue(!PROJECT.isBlank(), "set -Dbigquery.project to run these against a real project");
    }

    private static Map<String, String> settings(String dataset) {
        Map<String, String> e = new HashMap<>();
        e.put("WAREHOUSE", "bigquery");
        e.put("GOOGLE_CLOUD_PROJECT", PROJECT);
        e.put("BIGQUERY_DATASET", dataset);
        String credentials = System.getenv("GOOGLE_APPLICATION_CREDENTIALS");
        if (credentials != null) {
            e.put("GOOGLE_APPLICATION_CREDENTIALS", credentials);
        }
        String location = System.getProperty("bigquery.location");
        if (location != null) {
            e.put("BIGQUERY_LOCATION", location);
        }
        return e;
    }

    @Test
    void everyDocumentedQueryAnswersRightOnBigQuery(@TempDir Path dir) throws Exception {
        Map<String, String> env = settings("ep_test_analytics_" + RUN);
        env.put("DATA_DIR", dir.resolve("data").toString());
        AnalyticsQueriesIT.checkBigQuery(env, dir);
    }

    @Test
    void writesEachEventOnceWhenHaltedAroundAnAppend() throws Exception {
        String dataset = "ep_test_halts_" + RUN;
        Map<String, String> env = settings(dataset);
        env.put("BIGQUERY_APPEND_MAX_BYTES", "4096");
        BigQueryWarehouse w = new BigQueryWarehouse(ConfigLoader.load(env).warehouse());
        BigQueryIT.haltAround(BigQueryIT.HALTS, "bq_real_halts", 10_001, env, () -> {
            try {
                return ((Number) w.select("SELECT count(*) FROM " + Warehouse.TABLE, Warehouse.QueryLimits.GENEROUS)
                        .rows().get(0).get(0)).longValue();
            } catch (Exception notYet) {
                return 0;
            }
        });
    }
}
