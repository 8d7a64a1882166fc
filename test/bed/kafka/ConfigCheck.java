/*
 * Parses server.properties files the way a Kafka node does at start, with the Kafka jars on
 * the classpath: KafkaConfig (type parsing, validators, and the cross-key checks of its
 * constructor: roles, listeners, controller listener names, quorum settings, log dirs).
 *
 *   java -cp '<kafka home>/libs/*' test/bed/kafka/ConfigCheck.java file.properties...
 *
 * Prints one line per file, "OK <file>" or "FAIL <file>: <Kafka's message>", and exits 1 if
 * any file failed. Used by the generative spec test (test/integration/spec-guarantee.test.ts).
 */
import java.io.FileInputStream;
import java.io.InputStream;
import java.util.Properties;

public class ConfigCheck {
    public static void main(String[] args) throws Exception {
        boolean failed = false;
        for (String file : args) {
            Properties props = new Properties();
            try (InputStream in = new FileInputStream(file)) {
                props.load(in);
            }
            try {
                kafka.server.KafkaConfig.fromProps(props, false);
                System.out.println("OK " + file);
            } catch (Exception | ExceptionInInitializerError e) {
                failed = true;
                System.out.println("FAIL " + file + ": " + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
        }
        System.exit(failed ? 1 : 0);
    }
}
