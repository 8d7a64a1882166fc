/**
 * CI runs the whole suite on Node 24 LTS, the runtime of the controller's image, then
 * repeats it on Node 20 with KAFKA_CDK8S_REPEAT_PASS=1 (.ci/run). The repeat skips the
 * suites marked ONCE, whose subject does not change with the Node version of the test
 * process: the runtime controller's end-to-end proofs (the controller they prove runs on
 * its image's Node) and the proofs of the test bed and of Kafka's own behaviour (Java,
 * bash and Go servers). Everything that runs our code in the test process or through the
 * CLI runs on both.
 */
export const ONCE: { readonly skip?: string } = process.env.KAFKA_CDK8S_REPEAT_PASS === '1'
  ? { skip: 'ran in the first pass of this CI run: its subject does not depend on the Node version' }
  : {};
