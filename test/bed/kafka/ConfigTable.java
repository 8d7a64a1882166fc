/*
 * Writes the table of Kafka broker/controller configuration keys that lib/config/kafka-keys.ts
 * reads (lib/config/kafka-keys-<major.minor>.json), straight from the Kafka jars on the
 * classpath, so the table is Kafka's own truth for that version and not a copy of its docs.
 *
 *   java -cp '<kafka home>/libs/*' test/bed/kafka/ConfigTable.java [out.json]
 *
 * (single-file source program: no build step; test/bed/kafka/config-table.sh runs it for the
 * Kafka version in versions.json). Without an argument the JSON goes to stdout. A summary goes
 * to stderr.
 *
 * Where each field comes from (Kafka 4.x names; if a later Kafka renames them this program stops
 * compiling, which is the signal to look again rather than to guess):
 *  - keys: AbstractKafkaConfig.CONFIG_DEF (the same ConfigDef object as
 *    kafka.server.KafkaConfig.configDef(); it merges ServerConfigs, KRaftConfigs, QuorumConfig,
 *    MetadataLogConfig, SocketServerConfigs, ReplicationConfigs, the coordinators' configs,
 *    LogConfig.SERVER_CONFIG_DEF, ...) plus DynamicConfig.Broker.configKeys(), which adds the
 *    broker quota keys (leader/follower.replication.throttled.rate, ...) that exist only as
 *    dynamic configs ("dynamicOnly").
 *  - type, default (ConfigDef.convertToString, i.e. the string you would write in
 *    server.properties; null when there is no default or the default is null; omitted for
 *    PASSWORD), validValues (the validator's toString, as Kafka's docs print it), importance,
 *    internal (defineInternal keys, left out of Kafka's docs).
 *  - dynamic: what Kafka's own AlterConfigs validation (DynamicBrokerConfig.validateConfigs)
 *    accepts for the bare key, using the same public functions it uses:
 *      DynamicBrokerConfig.nonDynamicConfigs(props)                   -> "read-only"
 *      DynamicBrokerConfig.securityConfigsWithoutListenerPrefix(props) -> "read-only"
 *        (Kafka refuses these bare; it accepts them only as listener.name.<l>.<key>, see
 *        "listenerPrefix" and "prefixes")
 *      DynamicBrokerConfig.perBrokerConfigs(props)                    -> "per-broker"
 *      otherwise (dynamic, allowed on the default resource "")        -> "cluster-wide"
 *    and cross-checked against DynamicBrokerConfig.dynamicConfigUpdateModes() (what Kafka's docs
 *    print as "Dynamic update mode"); "kafkaDocMode" is recorded where the two differ.
 *  - newListenersOnly: keys of DynamicBrokerConfig.DynamicListenerConfig.RECONFIGURABLE_CONFIGS
 *    that Kafka accepts dynamically but only uses when it creates a listener: an existing listener
 *    reconfigures only DYNAMIC_SECURITY_CONFIGS, SocketServer.LISTENER_RECONFIGURABLE_CONFIGS and
 *    DataPlaneAcceptor.ListenerReconfigurableConfigs (kafka.server.DynamicListenerConfig
 *    .validateReconfiguration), and `listeners` / `listener.security.protocol.map` add or remove
 *    listeners. Changing such a key for the listeners a cluster already has needs a restart.
 *  - dynamicSynonym: for a read-only key with a dynamic synonym (log.retention.hours ->
 *    log.retention.ms), from DynamicBrokerConfig.brokerConfigSynonyms(name, false).
 *  - prefixes: Kafka's listener-prefix pattern (DynamicBrokerConfig.LISTENER_CONFIG_REGEX), with
 *    the kind of each key that an existing listener can change live (perBrokerConfigs() decides
 *    per-broker vs cluster-wide, as in validateConfigs); any other listener-prefixed key is
 *    read-only for an existing listener.
 *  - removed: keys that Kafka 4.x no longer has, with the reason and the replacement, from
 *    Kafka's upgrade notes (docs/getting-started/upgrade.md, "Notable changes in 4.0.0"), its
 *    "KRaft vs ZooKeeper" page (docs/getting-started/zk2kraft.md, "Removed ZooKeeper Features")
 *    and, for internal keys the notes do not list, a diff of KafkaConfig.configDef() between
 *    Kafka 3.9.1 and 4.4.0 with the removing change named. This list is hand-written (it cannot
 *    come from the new jars) but is checked here: a "removed" key that the Kafka on the classpath
 *    still defines is an error.
 */

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.network.SocketServer;
import org.apache.kafka.server.config.AbstractKafkaConfig;
import org.apache.kafka.server.config.DynamicBrokerConfig;
import org.apache.kafka.server.config.DynamicConfig;

public class ConfigTable {

    static final String READ_ONLY = "read-only";
    static final String PER_BROKER = "per-broker";
    static final String CLUSTER_WIDE = "cluster-wide";

    /** Placeholder listener name used to probe Kafka's listener-prefix rules. */
    static final String PROBE_LISTENER = "probe";

    /**
     * Keys removed from Kafka's server configuration by 4.x, each with one line: why, and what to
     * use instead. See the header for the sources. Only server (broker/controller) keys.
     */
    static final Map<String, String> REMOVED = new TreeMap<>();

    static {
        String zk = "removed in Kafka 4.0 with ZooKeeper mode (KRaft only); the controller quorum replaces ZooKeeper: "
            + "set process.roles, controller.quorum.bootstrap.servers or controller.quorum.voters, controller.listener.names";
        for (String k : List.of("zookeeper.connect", "zookeeper.session.timeout.ms", "zookeeper.connection.timeout.ms",
                "zookeeper.set.acl", "zookeeper.max.in.flight.requests", "zookeeper.ssl.client.enable",
                "zookeeper.clientCnxnSocket", "zookeeper.ssl.keystore.location", "zookeeper.ssl.keystore.password",
                "zookeeper.ssl.keystore.type", "zookeeper.ssl.truststore.location", "zookeeper.ssl.truststore.password",
                "zookeeper.ssl.truststore.type", "zookeeper.ssl.protocol", "zookeeper.ssl.enabled.protocols",
                "zookeeper.ssl.cipher.suites", "zookeeper.ssl.endpoint.identification.algorithm",
                "zookeeper.ssl.crl.enable", "zookeeper.ssl.ocsp.enable")) {
            REMOVED.put(k, zk);
        }
        String migration = "removed in Kafka 4.0: it only served the ZooKeeper-to-KRaft migration, which must be finished "
            + "on Kafka 3.x before upgrading; no replacement";
        REMOVED.put("zookeeper.metadata.migration.enable", migration);
        REMOVED.put("zookeeper.metadata.migration.min.batch.size", migration);
        String encoder = "removed in Kafka 4.0 (ZooKeeper mode only): KRaft stores sensitive dynamic configs in the metadata "
            + "log without this encoder; no replacement";
        for (String k : List.of("password.encoder.secret", "password.encoder.old.secret",
                "password.encoder.keyfactory.algorithm", "password.encoder.cipher.algorithm",
                "password.encoder.key.length", "password.encoder.iterations")) {
            REMOVED.put(k, encoder);
        }
        REMOVED.put("control.plane.listener.name", "removed in Kafka 4.0 (ZooKeeper mode only); KRaft controllers are "
            + "reached through controller.listener.names, listeners and listener.security.protocol.map");
        String shutdown = "removed in Kafka 4.0 (ZooKeeper mode only): in KRaft the controller quorum runs controlled "
            + "shutdown; no replacement";
        REMOVED.put("controlled.shutdown.max.retries", shutdown);
        REMOVED.put("controlled.shutdown.retry.backoff.ms", shutdown);
        String brokerId = "removed in Kafka 4.0 (ZooKeeper mode only): KRaft has no broker id generation; every node sets node.id";
        REMOVED.put("broker.id.generation.enable", brokerId);
        REMOVED.put("reserved.broker.max.id", brokerId);
        REMOVED.put("inter.broker.protocol.version", "removed in Kafka 4.0; the metadata version replaces it (metadata.version, "
            + "set with kafka-storage format --release-version and raised with kafka-features upgrade)");
        REMOVED.put("leader.imbalance.per.broker.percentage", "removed in Kafka 4.0 (ZooKeeper mode only); preferred leader "
            + "election is driven by auto.leader.rebalance.enable and leader.imbalance.check.interval.seconds");
        REMOVED.put("log.message.format.version", "removed in Kafka 4.0 with message formats v0 and v1 (KIP-724); brokers always "
            + "write format v2, so there is nothing to set");
        REMOVED.put("log.message.downconversion.enable", "removed in Kafka 4.0 with message formats v0 and v1 (KIP-724): brokers "
            + "no longer down-convert records; no replacement");
        REMOVED.put("log.message.timestamp.difference.max.ms", "removed in Kafka 4.0 (KIP-937); use "
            + "log.message.timestamp.before.max.ms and log.message.timestamp.after.max.ms");
        REMOVED.put("delegation.token.master.key", "removed in Kafka 4.0; use delegation.token.secret.key");
        REMOVED.put("offsets.commit.required.acks", "removed in Kafka 4.0 (KIP-1041): offset commits always wait for all "
            + "in-sync replicas; no replacement");
        REMOVED.put("auto.include.jmx.reporter", "removed in Kafka 4.0; metric.reporters now defaults to "
            + "org.apache.kafka.common.metrics.JmxReporter (list it there to keep JMX metrics when setting other reporters)");
        REMOVED.put("metrics.jmx.blacklist", "removed from JmxReporter in Kafka 4.0; use metrics.jmx.exclude");
        REMOVED.put("metrics.jmx.whitelist", "removed from JmxReporter in Kafka 4.0; use metrics.jmx.include");
        REMOVED.put("group.coordinator.new.enable", "internal switch removed after Kafka 4.0 (KAFKA-18329): the new group "
            + "coordinator is the only one since 4.0; choose protocols with group.coordinator.rebalance.protocols");
        REMOVED.put("eligible.leader.replicas.enable", "internal switch removed in Kafka 4.0 (KAFKA-18062): Eligible Leader "
            + "Replicas are turned on with the eligible.leader.replicas.version feature (kafka-features), on by default for new "
            + "clusters since 4.1");
        REMOVED.put("group.share.enable", "internal preview switch removed after Kafka 4.0: share groups are turned on with the "
            + "share.version feature (kafka-features)");
        REMOVED.put("group.share.max.groups", "preview key removed after Kafka 4.0 (absent from Kafka 4.4, not in the upgrade "
            + "notes); no replacement key");
        REMOVED.put("metadata.log.segment.min.bytes", "internal testing-only key removed after Kafka 4.0 (KAFKA-19080); size "
            + "metadata log segments with metadata.log.segment.bytes");
    }

    static final List<String> REMOVED_SOURCES = List.of(
        "https://kafka.apache.org/40/getting-started/upgrade (Notable changes in 4.0.0: removed configurations)",
        "https://github.com/apache/kafka/blob/trunk/docs/getting-started/zk2kraft.md (Removed ZooKeeper Features: Configurations)",
        "KafkaConfig.configDef() of Kafka 3.9.1 minus that of Kafka 4.4.0 (internal keys; removing change named in each reason)");

    public static void main(String[] args) throws Exception {
        String version = kafkaVersion();
        ConfigDef serverDef = AbstractKafkaConfig.CONFIG_DEF;
        Map<String, ConfigDef.ConfigKey> all = new TreeMap<>(serverDef.configKeys());
        Set<String> dynamicOnly = new TreeSet<>();
        for (Map.Entry<String, ConfigDef.ConfigKey> e : DynamicConfig.Broker.configKeys().entrySet()) {
            if (all.putIfAbsent(e.getKey(), e.getValue()) == null) dynamicOnly.add(e.getKey());
        }

        Map<String, String> docModes = DynamicBrokerConfig.dynamicConfigUpdateModes();
        Set<String> security = DynamicBrokerConfig.DYNAMIC_SECURITY_CONFIGS;
        Set<String> listenerReconfigurable = new TreeSet<>(security);
        listenerReconfigurable.addAll(SocketServer.LISTENER_RECONFIGURABLE_CONFIGS);
        listenerReconfigurable.addAll(scala.jdk.javaapi.CollectionConverters.asJava(
            kafka.network.DataPlaneAcceptor$.MODULE$.ListenerReconfigurableConfigs()));
        Set<String> listenerStructure = Set.of("listeners", "listener.security.protocol.map");
        Pattern listenerRegex = (Pattern) privateStatic(DynamicBrokerConfig.class, "LISTENER_CONFIG_REGEX");

        List<String> problems = new ArrayList<>();
        Map<String, Integer> counts = new TreeMap<>();
        StringBuilder keys = new StringBuilder();
        boolean first = true;
        for (ConfigDef.ConfigKey key : all.values()) {
            String name = key.name;
            String dynamic = classify(name);
            String docMode = docModes.getOrDefault(name, READ_ONLY);
            boolean prefixOnly = security.contains(name);
            if (!dynamic.equals(docMode) && !prefixOnly) {
                problems.add(name + ": validateConfigs says " + dynamic + " but dynamicConfigUpdateModes() says " + docMode);
            }
            boolean newListenersOnly = DynamicBrokerConfig.DynamicListenerConfig.RECONFIGURABLE_CONFIGS.contains(name)
                && !listenerReconfigurable.contains(name) && !listenerStructure.contains(name) && !dynamic.equals(READ_ONLY);
            String dynamicSynonym = null;
            if (dynamic.equals(READ_ONLY)) {
                for (String s : DynamicBrokerConfig.brokerConfigSynonyms(name, false)) {
                    if (!s.equals(name) && DynamicBrokerConfig.ALL_DYNAMIC_CONFIGS.contains(s)) {
                        dynamicSynonym = s;
                        break;
                    }
                }
            }
            counts.merge(dynamic, 1, Integer::sum);

            Map<String, Object> o = new LinkedHashMap<>();
            o.put("type", key.type.name());
            if (key.type != ConfigDef.Type.PASSWORD) {
                o.put("default", key.hasDefault() ? ConfigDef.convertToString(key.defaultValue, key.type) : null);
            }
            if (!key.hasDefault()) o.put("required", true);
            o.put("validValues", validValues(key.validator));
            if (key.validator instanceof ConfigDef.ValidList) {
                o.put("listEmptyAllowed", (Boolean) privateField(key.validator, "isEmptyAllowed"));
            }
            o.put("dynamic", dynamic);
            if (!dynamic.equals(docMode)) o.put("kafkaDocMode", docMode);
            if (prefixOnly) o.put("listenerPrefix", classify(listenerKey(name)));
            if (newListenersOnly) o.put("newListenersOnly", true);
            if (dynamicSynonym != null) o.put("dynamicSynonym", dynamicSynonym);
            if (dynamicOnly.contains(name)) o.put("dynamicOnly", true);
            if (key.internalConfig) o.put("internal", true);
            o.put("importance", key.importance.name());

            keys.append(first ? "\n" : ",\n").append("    ").append(str(name)).append(": ").append(obj(o));
            first = false;
        }

        // Listener-prefixed keys an existing listener changes live; perBrokerConfigs() decides the kind.
        StringBuilder kinds = new StringBuilder();
        first = true;
        for (String k : listenerReconfigurable) {
            String kind = classify(listenerKey(k));
            if (kind.equals(READ_ONLY)) problems.add(listenerKey(k) + ": expected to be dynamic");
            kinds.append(first ? "\n" : ",\n").append("        ").append(str(k)).append(": ").append(str(kind));
            first = false;
        }
        if (!listenerRegex.matcher(listenerKey("ssl.keystore.location")).matches()) {
            problems.add("LISTENER_CONFIG_REGEX " + listenerRegex + " does not match " + listenerKey("ssl.keystore.location"));
        }

        for (String r : REMOVED.keySet()) {
            if (all.containsKey(r)) problems.add("'" + r + "' is listed as removed but Kafka " + version + " defines it");
        }
        if (!problems.isEmpty()) {
            System.err.println("ConfigTable: Kafka " + version + " does not match the assumptions of this program:");
            problems.forEach(p -> System.err.println("  " + p));
            System.exit(2);
        }

        StringBuilder removed = new StringBuilder();
        first = true;
        for (Map.Entry<String, String> e : REMOVED.entrySet()) {
            removed.append(first ? "\n" : ",\n").append("    ").append(str(e.getKey())).append(": ").append(str(e.getValue()));
            first = false;
        }

        String json = "{\n"
            + "  \"$comment\": " + str("Generated by test/bed/kafka/ConfigTable.java from the Kafka jars (bash test/bed/kafka/config-table.sh); do not edit.") + ",\n"
            + "  \"kafkaVersion\": " + str(version) + ",\n"
            + "  \"keys\": {" + keys + "\n  },\n"
            + "  \"prefixes\": [\n"
            + "    {\n"
            + "      \"prefix\": " + str("listener.name.<listener>.") + ",\n"
            + "      \"regex\": " + str("^" + listenerRegex.pattern() + "$") + ",\n"
            + "      \"kinds\": {" + kinds + "\n      },\n"
            + "      \"otherwise\": " + str(READ_ONLY) + "\n"
            + "    }\n"
            + "  ],\n"
            + "  \"removed\": {" + removed + "\n  },\n"
            + "  \"removedSources\": " + arr(REMOVED_SOURCES) + "\n"
            + "}\n";

        if (args.length > 0) {
            Files.writeString(Path.of(args[0]), json, StandardCharsets.UTF_8);
        } else {
            System.out.print(json);
        }
        System.err.println("ConfigTable: Kafka " + version + ": " + all.size() + " keys " + counts
            + ", " + listenerReconfigurable.size() + " listener-prefixed dynamic keys, " + REMOVED.size() + " removed keys");
    }

    /** The version kafka-clients reports (AppInfoParser reads the same resource; it moved packages in 4.x). */
    static String kafkaVersion() throws IOException {
        try (InputStream in = ConfigDef.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            if (in == null) throw new IllegalStateException("kafka/kafka-version.properties not found on the classpath");
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        }
    }

    static String listenerKey(String key) {
        return "listener.name." + PROBE_LISTENER + "." + key;
    }

    /** The checks of DynamicBrokerConfig.validateConfigs (what AlterConfigs on a BROKER resource runs), one key at a time. */
    static String classify(String name) {
        Properties p = new Properties();
        p.setProperty(name, "");
        if (!DynamicBrokerConfig.nonDynamicConfigs(p).isEmpty()) return READ_ONLY;
        if (!DynamicBrokerConfig.securityConfigsWithoutListenerPrefix(p).isEmpty()) return READ_ONLY;
        // Unknown names pass both checks above (Kafka accepts custom configs); a table key must be a known one.
        if (!name.startsWith("listener.name.") && !DynamicBrokerConfig.ALL_DYNAMIC_CONFIGS.contains(name)) {
            throw new IllegalStateException(name + " passed the dynamic checks but is not in ALL_DYNAMIC_CONFIGS");
        }
        return DynamicBrokerConfig.perBrokerConfigs(p).isEmpty() ? CLUSTER_WIDE : PER_BROKER;
    }

    static String validValues(ConfigDef.Validator v) {
        if (v == null) return null;
        String s = v.toString();
        if (s == null || s.isEmpty()) return null;
        // A validator without its own toString (a lambda, a plain class) would print a run-dependent identity.
        if (s.contains("$$Lambda") || s.startsWith(v.getClass().getName() + "@")) return null;
        return s;
    }

    static Object privateStatic(Class<?> c, String field) throws ReflectiveOperationException {
        Field f = c.getDeclaredField(field);
        f.setAccessible(true);
        return f.get(null);
    }

    static Object privateField(Object o, String field) throws ReflectiveOperationException {
        Field f = o.getClass().getDeclaredField(field);
        f.setAccessible(true);
        return f.get(o);
    }

    static String obj(Map<String, Object> o) {
        StringBuilder b = new StringBuilder("{ ");
        boolean first = true;
        for (Map.Entry<String, Object> e : o.entrySet()) {
            if (!first) b.append(", ");
            first = false;
            b.append(str(e.getKey())).append(": ");
            Object v = e.getValue();
            if (v == null) b.append("null");
            else if (v instanceof Boolean) b.append(v);
            else b.append(str(v.toString()));
        }
        return b.append(" }").toString();
    }

    static String arr(List<String> l) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < l.size(); i++) b.append(i == 0 ? "\n    " : ",\n    ").append(str(l.get(i)));
        return b.append("\n  ]").toString();
    }

    static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
