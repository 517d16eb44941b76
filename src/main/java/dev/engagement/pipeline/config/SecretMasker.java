package dev.engagement.pipeline.config;

import com.fasterxml.jackson.core.JsonStreamContext;
import net.logstash.logback.mask.ValueMasker;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A last line of defence for secrets in logs: any logged string value that contains a configured
 * secret (our own lines never do; a third-party library's might) is written with it replaced.
 */
public final class SecretMasker implements ValueMasker {
    private static final List<String> SECRETS = new CopyOnWriteArrayList<>();

    public static void register(Secret secret) {
        if (!secret.isEmpty() && secret.reveal().length() >= 4 && !SECRETS.contains(secret.reveal())) {
            SECRETS.add(secret.reveal());
        }
    }

    /** Replaces every registered secret in a text with "[hidden]". */
    public static String scrub(String text) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (String s : SECRETS) {
            if (out.contains(s)) {
                out = out.replace(s, "[hidden]");
            }
        }
        return out;
    }

    @Override
    public Object mask(JsonStreamContext context, Object value) {
        if (value instanceof CharSequence text && !SECRETS.isEmpty()) {
            String scrubbed = scrub(text.toString());
            return scrubbed.equals(text.toString()) ? null : scrubbed;
        }
        return null;
    }
}
