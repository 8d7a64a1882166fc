/*
 * Prints, as JSON, the metadata.version and kraft.version levels of the Kafka whose jars are on
 * the classpath: what that Kafka itself ships as latest production (the level a new cluster gets
 * and the highest level UpdateFeatures accepts without unstable versions), and every
 * metadata.version it knows.
 *
 *   java -cp '<kafka jars>/*' test/bed/kafka/MetadataVersions.java
 *
 * (single-file source program, no build step). test/bed/kafka/metadata-versions.sh runs it once
 * per Kafka release to write lib/config/metadata-versions.json; the integration test
 * test/integration/metadata-versions.test.ts runs it against the installed jars to check that
 * table. Only MetadataVersion and KRaftVersion (kafka-server-common) are read, and the version
 * of the jars from kafka-clients' kafka/kafka-version.properties (what AppInfoParser reads; the
 * class itself moved to an internals package in 4.4). If a later Kafka renames them this stops
 * compiling, which is the signal to look again.
 *
 * Output:
 *   { "kafkaVersion": "4.4.0",
 *     "latestProduction": { "name": "4.4-IV2", "level": 33 },
 *     "kraftVersionLatestProduction": 1,
 *     "metadataVersions": [ { "name": "3.3-IV3", "level": 7, "release": "3.3", "production": true }, ... ] }
 */
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.server.common.KRaftVersion;
import org.apache.kafka.server.common.MetadataVersion;

public class MetadataVersions {
    public static void main(String[] args) throws IOException {
        // The static field, not the 4.4 jar's view of older IVs: this is what this Kafka ships.
        MetadataVersion latest = MetadataVersion.LATEST_PRODUCTION;
        List<String> all = new ArrayList<>();
        for (MetadataVersion v : MetadataVersion.values()) {
            all.add(String.format("    { \"name\": %s, \"level\": %d, \"release\": %s, \"production\": %b }",
                quote(v.version()), v.featureLevel(), quote(v.shortVersion()), v.isProduction()));
        }
        System.out.println("{");
        System.out.println("  \"kafkaVersion\": " + quote(kafkaVersion()) + ",");
        System.out.println("  \"latestProduction\": { \"name\": " + quote(latest.version()) + ", \"level\": " + latest.featureLevel() + " },");
        System.out.println("  \"kraftVersionLatestProduction\": " + KRaftVersion.LATEST_PRODUCTION.featureLevel() + ",");
        System.out.println("  \"metadataVersions\": [");
        System.out.println(String.join(",\n", all));
        System.out.println("  ]");
        System.out.println("}");
    }

    static String kafkaVersion() throws IOException {
        try (InputStream in = MetadataVersion.class.getClassLoader().getResourceAsStream("kafka/kafka-version.properties")) {
            if (in == null) throw new IllegalStateException("no kafka/kafka-version.properties on the classpath (kafka-clients missing?)");
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        }
    }

    /** Version strings are [0-9A-Za-z.-]; anything else would be a surprise worth failing on. */
    static String quote(String s) {
        if (!s.matches("[0-9A-Za-z.+-]*")) throw new IllegalStateException("unexpected version string: " + s);
        return "\"" + s + "\"";
    }
}
