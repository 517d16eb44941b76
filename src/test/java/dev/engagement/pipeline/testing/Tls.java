package dev.engagement.pipeline.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test certificates made with the machine's openssl and keytool: a CA, and server certificates it
 * signed, as PEM files and as PKCS#12 key and trust stores (for the Kafka broker).
 */
public final class Tls {
    public final Path dir;
    public final Path caCert;
    public final String storePassword;

    private Tls(Path dir, String storePassword) {
        this.dir = dir;
        this.caCert = dir.resolve("ca.pem");
        this.storePassword = storePassword;
    }

    /** A new CA in {@code dir}. */
    public static Tls authority(Path dir, String storePassword) throws Exception {
        Files.createDirectories(dir);
        Tls tls = new Tls(dir, storePassword);
        run(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                "/CN=engagement-pipeline test CA", "-keyout", "ca.key", "-out", "ca.pem");
        return tls;
    }

    /** A server certificate signed by the CA for {@code names} (DNS names, or IP:addresses). */
    public Server server(String name, String... names) throws Exception {
        List<String> san = new ArrayList<>();
        for (String n : names) {
            san.add(n.startsWith("IP:") ? n : "DNS:" + n);
        }
        Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=" + String.join(",", san) + "\n"
                + "extendedKeyUsage=serverAuth,clientAuth\n");
        run(dir, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + names[0], "-keyout",
                name + ".key", "-out", name + ".csr");
        run(dir, "openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem");
        run(dir, "openssl", "pkcs12", "-export", "-in", name + ".pem", "-inkey", name + ".key", "-certfile", "ca.pem",
                "-name", name, "-out", name + ".p12", "-passout", "pass:" + storePassword);
        return new Server(dir.resolve(name + ".pem"), dir.resolve(name + ".key"), dir.resolve(name + ".p12"));
    }

    /** A PKCS#12 trust store holding the CA. */
    public Path trustStore() throws Exception {
        Path p = dir.resolve("truststore.p12");
        if (!Files.exists(p)) {
            run(dir, "keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore",
                    "truststore.p12", "-storetype", "PKCS12", "-storepass", storePassword);
        }
        return p;
    }

    public record Server(Path cert, Path key, Path keyStore) {
    }

    private static void run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
    }
}
