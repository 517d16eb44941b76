package dev.engagement.pipeline.sink.warehouse.bigquery;

import com.google.auth.oauth2.GoogleCredentials;
import dev.engagement.pipeline.config.PipelineConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.List;
import java.util.Optional;

/**
 * Google credentials for BigQuery: the key file GOOGLE_APPLICATION_CREDENTIALS names, else
 * Application Default Credentials; none against plaintext endpoints (an emulator or the fake).
 * Tokens are refreshed before they expire. No credential, key or token is ever logged or shown.
 */
final class GoogleAuth {
    static final List<String> SCOPES = List.of("https://www.googleapis.com/auth/bigquery");

    private final GoogleCredentials credentials;

    private GoogleAuth(GoogleCredentials credentials) {
        this.credentials = credentials;
    }

    static GoogleAuth of(PipelineConfig.Warehouse config) throws IOException {
        if (config.bigQueryPlaintext()) {
            return new GoogleAuth(null);
        }
        try {
            GoogleCredentials c;
            if (config.credentialsFile().isPresent()) {
                try (InputStream in = Files.newInputStream(config.credentialsFile().get())) {
                    c = GoogleCredentials.fromStream(in);
                }
            } else {
                c = GoogleCredentials.getApplicationDefault();
            }
            return new GoogleAuth(c.createScoped(SCOPES));
        } catch (IOException e) {
            // the library's message names the file at most, never its content
            throw new IOException("no usable Google credentials for BigQuery (GOOGLE_APPLICATION_CREDENTIALS or "
                    + "Application Default Credentials): " + e.getMessage());
        }
    }

    Optional<GoogleCredentials> credentials() {
        return Optional.ofNullable(credentials);
    }

    /** The Authorization header value, refreshed when it is about to expire; empty without credentials. */
    synchronized Optional<String> authorization() throws IOException {
        if (credentials == null) {
            return Optional.empty();
        }
        credentials.refreshIfExpired();
        return Optional.of("Bearer " + credentials.getAccessToken().getTokenValue());
    }
}
