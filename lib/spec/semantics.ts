/**
 * Rules that relate several fields of the spec (and a few warnings: specs
 * that are valid but probably not what the user meant). They run on the raw input,
 * even when the structural (zod) validation failed elsewhere, so the user sees
 * every problem at once; hence the defensive reads.
 */
import { ownedKeyReplacement } from '../config/owned-keys.js';
import { checkValue, KAFKA_KEYS_VERSION, kafkaKey, listenerKey, removedKey, suggestKey } from '../config/kafka-keys.js';
import { checkKafkaRules, type KafkaRole } from '../config/kafka-rules.js';
import { KNOWN_RELEASES, metadataVersionOf } from '../config/metadata-versions.js';
import { compareVersions } from '../config/versions.js';
import { CONTROLLER_LISTENER, EXTERNAL_LISTENER, INTERNAL_LISTENER, LOG_SUBDIR } from '../config/server-properties.js';
import { DEFAULT_KAFKA_VERSION, DNS_LABEL } from './schema.js';
import { pathsNest } from './paths.js';
import { quantityValue } from './kube-schemas.js';
import { didYouMean } from './suggest.js';
import { formatPath, showValue, type SpecProblem } from './problems.js';

type Path = ReadonlyArray<string | number>;
type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const rec = (v: unknown): Rec => (isRec(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const MAX_NODE_ID = 2_147_483_647;
/** Longest object name we add to the cluster name: `<name>-bootstrap`, a Service (63 characters at most). */
const LONGEST_SHARED_SUFFIX = '-bootstrap';
/** Volume names the Pod uses for itself. */
const RESERVED_VOLUME_NAMES = new Set(['server-config', 'tls']);
/**
 * Keys that only the active KRaft controller reads. Set on brokers that are not
 * controllers, they would be accepted and do nothing.
 */
const CONTROLLER_ONLY_KEYS = new Set([
  'auto.leader.rebalance.enable',
  'leader.imbalance.check.interval.seconds',
  'broker.session.timeout.ms',
  'delete.topic.enable',
  'create.topic.policy.class.name',
  'alter.config.policy.class.name',
]);

/** Kafka's own defaults for the internal topics' replication settings. */
const KAFKA_DEFAULTS: Readonly<Record<string, number>> = {
  'default.replication.factor': 1,
  'offsets.topic.replication.factor': 3,
  'transaction.state.log.replication.factor': 3,
  'share.coordinator.state.topic.replication.factor': 3,
  'min.insync.replicas': 1,
  'transaction.state.log.min.isr': 2,
};
const REPLICATION_FACTOR_KEYS = [
  'default.replication.factor',
  'offsets.topic.replication.factor',
  'transaction.state.log.replication.factor',
  'share.coordinator.state.topic.replication.factor',
];
/** [min ISR key, the replication factor it must not exceed]. */
const MIN_ISR_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['min.insync.replicas', 'default.replication.factor'],
  ['transaction.state.log.min.isr', 'transaction.state.log.replication.factor'],
];

/** Where each effective config value came from, so errors point at the line to fix. */
interface Setting { readonly value: number; readonly path: Path | undefined }

export function checkSemantics(input: unknown): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const add = (path: Path, message: string) => problems.push({ path: formatPath(path), message });
  const warn = (path: Path, message: string) => problems.push({ path: formatPath(path), message, warning: true });
  const spec = rec(input);
  const brokers = arr(spec.brokers);
  const groups = rec(spec.brokerGroups);
  const controllers = rec(spec.controllers);
  const name = typeof spec.name === 'string' ? spec.name : undefined;

  checkKafkaVersion(spec, add);
  const listenerNames = [INTERNAL_LISTENER, CONTROLLER_LISTENER, ...(isRec(spec.externalAccess) ? [EXTERNAL_LISTENER] : [])];
  if (name && DNS_LABEL.test(name) && `${name}${LONGEST_SHARED_SUFFIX}`.length > 63) {
    add(['name'], `name must be at most ${63 - LONGEST_SHARED_SUFFIX.length} characters: the Service '${name}${LONGEST_SHARED_SUFFIX}' must fit in 63 (got ${name.length})`);
  }
  checkPorts(spec, controllers, add);
  checkTls(spec, add);
  checkExternalAccess(spec, brokers, add);
  checkConfigKeys(spec.config, ['config'], listenerNames, add, warn);
  checkConfigKeys(controllers.config, ['controllers', 'config'], listenerNames, add, warn);
  for (const [g, group] of Object.entries(groups)) {
    checkConfigKeys(rec(group).config, ['brokerGroups', g, 'config'], listenerNames, add, warn);
    checkControllerOnlyKeys(rec(group).config, ['brokerGroups', g, 'config'], add);
    checkVolumes(rec(group).storage, ['brokerGroups', g, 'storage'], add);
  }
  checkVolumes(controllers.storage, ['controllers', 'storage'], add);

  const firstSeen = new Map<number, number>();
  brokers.forEach((raw, i) => {
    const broker = rec(raw);
    const id = broker.id;
    if (isId(id)) {
      const prior = firstSeen.get(id);
      if (prior !== undefined) add(['brokers', i, 'id'], `duplicate broker id ${id} (also brokers[${prior}].id); broker ids must be unique`);
      else firstSeen.set(id, i);
      if (name && DNS_LABEL.test(name) && `${name}-broker-${id}`.length > 63) {
        add(['brokers', i, 'id'], `the object name '${name}-broker-${id}' is longer than 63 characters; use a shorter cluster name`);
      }
    }
    if (broker.group !== undefined && !Object.hasOwn(groups, String(broker.group))) {
      const known = Object.keys(groups).sort();
      add(['brokers', i, 'group'], `unknown group ${showValue(broker.group)}; `
        + (known.length ? `${didYouMean(String(broker.group), known)}defined groups: ${known.join(', ')}` : 'no brokerGroups are defined'));
    }
    checkConfigKeys(broker.config, ['brokers', i, 'config'], listenerNames, add, warn);
    if (!isCombinedController(controllers, broker.id)) checkControllerOnlyKeys(broker.config, ['brokers', i, 'config'], add);
    checkVolumes(broker.storage, ['brokers', i, 'storage'], add);
  });

  checkControllers(controllers, firstSeen, name, add, warn);
  checkRacks(spec, brokers, groups, add);
  checkReplication(spec, brokers, groups, add);
  checkNodeRules(spec, brokers, groups, controllers, add);
  checkResources(brokers, groups, controllers, rec(spec.operator), add);
  return problems;
}

type Add = (path: Path, message: string) => void;

/** `add`, but each (path, message) only once: per-node checks meet the same shared layer many times. */
function once(add: Add): Add {
  const reported = new Set<string>();
  return (path, message) => {
    const key = `${formatPath(path)}|${message}`;
    if (!reported.has(key)) { reported.add(key); add(path, message); }
  };
}

function checkKafkaVersion(spec: Rec, add: Add): void {
  const given = rec(spec.kafka).version;
  const version = typeof given === 'string' ? given : DEFAULT_KAFKA_VERSION;
  const major = Number(version.split('.')[0]);
  if (Number.isInteger(major) && major < 4) {
    add(['kafka', 'version'], `Kafka ${version} is not supported: kafka-cdk8s runs KRaft-only clusters of Kafka 4.x or newer`);
  }
  const pin = rec(spec.kafka).metadataVersion;
  if (typeof pin !== 'string' || !/^\d+\.\d+$/.test(pin)) return;
  if (!metadataVersionOf(pin)) {
    add(['kafka', 'metadataVersion'], `'${pin}' is not a Kafka release kafka-cdk8s knows the metadata.version of (known: ${KNOWN_RELEASES.join(', ')})`);
  } else if (compareVersions(pin, version.split('.').slice(0, 2).join('.')) > 0) {
    add(['kafka', 'metadataVersion'], `'${pin}' is newer than kafka.version ${version}: Kafka ${version} cannot run the metadata.version of ${pin}`);
  }
}

/** Keys whose values name listeners: Kafka refuses to start when one is not a listener of the node. */
const LISTENER_NAME_KEYS = new Set(['early.start.listeners', 'remote.log.metadata.manager.listener.name']);
function listenerNameProblem(key: string, value: string, listenerNames: readonly string[]): string | undefined {
  if (!LISTENER_NAME_KEYS.has(key)) return undefined;
  const unknown = value.split(',').map((v) => v.trim()).filter((v) => v && !listenerNames.includes(v));
  return unknown.length ? `${key} names listener${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the listeners are ${listenerNames.join(', ')}` : undefined;
}

/** Each key of one config map: not ours, not removed from Kafka, a value Kafka parses; unknown keys are warned about. */
function checkConfigKeys(config: unknown, path: Path, listenerNames: readonly string[], add: Add, warn: Add): void {
  for (const [key, value] of Object.entries(rec(config))) {
    const at = [...path, key];
    const instead = ownedKeyReplacement(key);
    const removed = removedKey(key);
    if (instead) add(at, `'${key}' is set by kafka-cdk8s and cannot be overridden; use ${instead} instead`);
    else if (removed) add(at, `'${key}' is no longer a Kafka setting: ${removed}`);
    else if (kafkaKey(key) || listenerKey(key)) {
      const bad = ['string', 'number', 'boolean', 'bigint'].includes(typeof value) ? checkValue(key, String(value)) ?? listenerNameProblem(key, String(value), listenerNames) : undefined;
      if (bad) add(at, bad);
    } else {
      const hint = suggestKey(key);
      warn(at, `'${key}' is not a Kafka ${KAFKA_KEYS_VERSION} broker setting${hint ? `; did you mean '${hint}'?` : ' (fine for a plugin\'s own settings)'}`);
    }
  }
}

function checkVolumes(storage: unknown, path: Path, add: Add): void {
  const names = new Map<string, number>();
  const mounts: Array<readonly [string, number]> = [];
  const metadataVolumes: number[] = [];
  const list = arr(storage);
  const isVolume = (v: unknown) => typeof rec(v).name === 'string';
  if (list.length > 1 && list.every(isVolume) && !list.some((v) => rec(v).metadataLog === true || rec(v).name === 'data-0')) {
    add(path, "with several volumes, mark the one that holds the KRaft metadata log with 'metadataLog: true' "
      + '(the volume that held it so far: the first one, if this node already runs), or name one data-0');
  }
  list.forEach((raw, i) => {
    const volume = rec(raw);
    if (typeof volume.name === 'string') {
      const prior = names.get(volume.name);
      if (prior !== undefined) add([...path, i, 'name'], `duplicate volume name ${showValue(volume.name)} (also ${formatPath([...path, prior, 'name'])})`);
      else names.set(volume.name, i);
      if (RESERVED_VOLUME_NAMES.has(volume.name)) add([...path, i, 'name'], `volume name ${showValue(volume.name)} is used by kafka-cdk8s itself; choose another`);
    }
    // Compare normalized paths, so that '/data' and '/data/' are seen as the same place.
    const mount = typeof volume.mountPath === 'string' ? volume.mountPath.replace(/(.)\/+$/, '$1')
      : typeof volume.name === 'string' ? `/var/lib/kafka/${volume.name}` : undefined;
    if (volume.metadataLog === true) {
      const prior = metadataVolumes.find(() => true);
      if (prior !== undefined) add([...path, i, 'metadataLog'], `only one volume holds the metadata log; ${formatPath([...path, prior, 'metadataLog'])} is already marked`);
      metadataVolumes.push(i);
    }
    if (!mount) return;
    const same = mounts.find(([other]) => other === mount);
    const nested = mounts.find(([other]) => pathsNest(other, mount));
    if (same) add([...path, i, 'mountPath'], `mount path ${showValue(mount)} is already used by ${formatPath([...path, same[1]])}`);
    else if (nested) add([...path, i, 'mountPath'], `mount path ${showValue(mount)} and ${showValue(nested[0])} (${formatPath([...path, nested[1]])}) are inside one another; each volume needs its own directory`);
    mounts.push([mount, i]);
  });
}

function checkControllerOnlyKeys(config: unknown, path: Path, add: Add): void {
  for (const key of Object.keys(rec(config))) {
    if (CONTROLLER_ONLY_KEYS.has(key)) {
      add([...path, key], `'${key}' is read only by the KRaft controllers, so on brokers it has no effect; set it in config (every node) or controllers.config`);
    }
  }
}

function isCombinedController(controllers: Rec, id: unknown): boolean {
  return controllers.mode === 'combined' && (controllers.brokerIds === undefined || arr(controllers.brokerIds).includes(id));
}

function checkPorts(spec: Rec, controllers: Rec, add: Add): void {
  const listeners = rec(spec.listeners);
  const internal = rec(listeners.internal).port ?? 9092;
  const controller = rec(listeners.controller).port ?? 9093;
  if (controllers.mode === 'combined' && internal === controller) {
    add(['listeners', 'controller', 'port'], `port ${showValue(controller)} is also listeners.internal.port; in combined mode a node listens on both, so they must differ`);
  }
}

/** Listener TLS needs certificates; settings of one TLS mode do not fit another. */
function checkTls(spec: Rec, add: Add): void {
  const tls = spec.tls;
  const listeners = rec(spec.listeners);
  for (const name of ['internal', 'external']) {
    const listener = rec(listeners[name]);
    if (listener.tls === true && !isRec(tls)) add(['listeners', name, 'tls'], `listener ${name} has tls: true, but there is no tls section saying where its certificates come from`);
    const secured = listener.tls === true || (listener.tls === undefined && isRec(tls));
    if (listener.clientAuth !== undefined && listener.clientAuth !== 'none' && !secured) {
      add(['listeners', name, 'clientAuth'], `clientAuth '${String(listener.clientAuth)}' needs TLS on the ${name} listener (a tls section, and tls not false)`);
    }
  }
  if (!isRec(tls)) return;
  if (tls.issuer !== undefined && tls.mode !== 'cert-manager') add(['tls', 'issuer'], `issuer is a cert-manager setting; mode is '${String(tls.mode)}'`);
  if (tls.mode === 'secrets') {
    for (const key of ['duration', 'renewBefore']) {
      if (tls[key] !== undefined) add(['tls', key], `${key} does not apply to mode 'secrets': you make and renew those certificates`);
    }
  }
}

/** Every external port is a port of its own: broker N at externalStartingPort+N, bootstrap, Envoy's health and admin. */
function checkExternalAccess(spec: Rec, brokers: unknown[], add: Add): void {
  const listeners = rec(spec.listeners);
  const externalPort = rec(listeners.external).port ?? 9094;
  const internalPort = rec(listeners.internal).port ?? 9092;
  const controllerPort = rec(listeners.controller).port ?? 9093;
  const ext = spec.externalAccess;
  if (!isRec(ext)) {
    if (rec(listeners.external).tls !== undefined || rec(listeners.external).clientAuth !== undefined) {
      add(['listeners', 'external'], 'the external listener exists only with externalAccess');
    }
    return;
  }
  if (externalPort === internalPort || externalPort === controllerPort) {
    add(['listeners', 'external', 'port'], `port ${showValue(externalPort)} is also ${externalPort === internalPort ? 'listeners.internal.port' : 'listeners.controller.port'}; every listener needs its own port`);
  }
  if (ext.type === 'envoy' && ext.istio !== undefined) add(['externalAccess', 'istio'], "istio settings need type 'istio'");
  if (ext.type === 'istio' && ext.envoy !== undefined) add(['externalAccess', 'envoy'], "envoy settings need type 'envoy'");
  if (ext.type === 'istio' && rec(ext.istio).mode === 'tls-passthrough') {
    const externalTls = rec(listeners.external).tls ?? isRec(spec.tls);
    if (externalTls !== true) add(['externalAccess', 'istio', 'mode'], "'tls-passthrough' routes TLS by name: the external listener needs TLS (a tls section)");
  }
  const start = typeof ext.externalStartingPort === 'number' ? ext.externalStartingPort : 19000;
  const ids = brokers.map((b) => rec(b).id).filter(isId);
  if (!ids.length) return;
  const lowest = start + Math.min(...ids);
  const highest = start + Math.max(...ids);
  if (highest > 65535) {
    add(['externalAccess', 'externalStartingPort'], `broker ${Math.max(...ids)} would be reached at port ${highest}, beyond 65535; lower externalStartingPort or use smaller broker ids`);
  }
  const brokerPortOf = (port: number) => ids.find((id) => start + id === port);
  const envoy = rec(ext.envoy);
  const others: Array<readonly [Path, unknown]> = [
    [['externalAccess', 'bootstrapPort'], ext.bootstrapPort ?? 19092],
    ...(ext.type === 'envoy' ? [[['externalAccess', 'envoy', 'healthPort'], envoy.healthPort ?? 8081] as const, [['externalAccess', 'envoy', 'adminPort'], envoy.adminPort ?? 9901] as const] : []),
  ];
  const seen = new Map<number, string>();
  for (const [path, port] of others) {
    if (typeof port !== 'number') continue;
    const broker = port >= lowest && port <= highest ? brokerPortOf(port) : undefined;
    if (broker !== undefined) add(path, `port ${port} is broker ${broker}'s external port (externalStartingPort ${start} + ${broker}); choose a port outside ${lowest}..${highest}`);
    const prior = seen.get(port);
    if (prior) add(path, `port ${port} is also ${prior}`);
    seen.set(port, formatPath(path));
  }
}

function checkControllers(controllers: Rec, brokerIds: Map<number, number>, name: string | undefined, add: Add, warn: Add): void {
  const mode = controllers.mode ?? 'dedicated';
  if (mode === 'dedicated') {
    if (controllers.brokerIds !== undefined) add(['controllers', 'brokerIds'], "brokerIds applies to mode 'combined' only; dedicated controllers use replicas and idBase, or ids");
    const explicit = controllers.ids === undefined ? undefined : arr(controllers.ids);
    if (explicit) {
      for (const field of ['replicas', 'idBase'] as const) {
        if (controllers[field] !== undefined) add(['controllers', field], `${field} and ids cannot be used together: ids lists every controller`);
      }
      const seen = new Set<unknown>();
      explicit.forEach((id, i) => {
        if (seen.has(id)) add(['controllers', 'ids', i], `duplicate controller id ${showValue(id)}`);
        seen.add(id);
      });
    }
    const replicas = explicit ? explicit.length : Number.isInteger(controllers.replicas) ? (controllers.replicas as number) : 3;
    const idBase = isId(controllers.idBase) ? controllers.idBase : 9000;
    if (!explicit && idBase + replicas - 1 > MAX_NODE_ID) {
      add(['controllers', 'idBase'], `controller ids ${idBase}..${idBase + replicas - 1} go past ${MAX_NODE_ID}, the largest node.id Kafka accepts; lower idBase`);
      return;
    }
    if (replicas % 2 === 0) {
      warn(['controllers', explicit ? 'ids' : 'replicas'], `${replicas} controllers tolerate no more failures than ${replicas - 1}; an odd number is usually better`);
    }
    const ids = explicit ? explicit.filter(isId) : Array.from({ length: replicas }, (_, i) => idBase + i);
    for (const id of ids) {
      const clash = brokerIds.get(id);
      if (clash !== undefined) {
        add(explicit ? ['controllers', 'ids', explicit.indexOf(id)] : ['controllers', 'idBase'],
          explicit ? `controller id ${id} is also the id of brokers[${clash}]; node ids must be unique across brokers and controllers`
            : `controller id ${id} (idBase ${idBase} + ${id - idBase}) is also the id of brokers[${clash}]; node ids must be unique across brokers and controllers`);
      }
      if (name && DNS_LABEL.test(name) && `${name}-controller-${id}`.length > 63) {
        add(['name'], `the object name '${name}-controller-${id}' is longer than 63 characters; use a shorter cluster name`);
        break;
      }
    }
  } else if (mode === 'combined') {
    for (const field of ['replicas', 'idBase', 'ids'] as const) {
      if (controllers[field] !== undefined) add(['controllers', field], `${field} applies to mode 'dedicated' only; combined mode uses brokerIds`);
    }
    const seen = new Set<unknown>();
    const voters = controllers.brokerIds === undefined ? Math.min(3, brokerIds.size) : arr(controllers.brokerIds).length;
    if (voters > 0 && voters % 2 === 0) {
      warn(['controllers', 'brokerIds'], `${voters} controllers tolerate no more failures than ${voters - 1}; an odd number is usually better`);
    }
    arr(controllers.brokerIds).forEach((id, i) => {
      if (seen.has(id)) add(['controllers', 'brokerIds', i], `duplicate controller id ${showValue(id)}`);
      seen.add(id);
      if (isId(id) && !brokerIds.has(id)) {
        add(['controllers', 'brokerIds', i], `broker id ${id} is not in brokers; combined-mode controllers must be brokers of this cluster`);
      }
    });
  }
}

function checkRacks(spec: Rec, brokers: unknown[], groups: Rec, add: Add): void {
  if (spec.rackAwareness === undefined) return;
  brokers.forEach((raw, i) => {
    const broker = rec(raw);
    const groupRack = rec(groups[typeof broker.group === 'string' ? broker.group : 'default']).rack;
    if (broker.rack === undefined && groupRack === undefined) {
      add(['brokers', i, 'rack'], 'rackAwareness is on, so every broker needs a rack (set brokers[].rack or its group\'s rack)');
    }
  });
}

/** Replication factors and min ISR, per broker, on the merged (cluster < group < broker) config. */
function checkReplication(spec: Rec, brokers: unknown[], groups: Rec, add: Add): void {
  const brokerCount = brokers.length;
  if (brokerCount === 0) return;
  const report = once(add);
  brokers.forEach((raw, index) => {
    const broker = rec(raw);
    const groupName = typeof broker.group === 'string' ? broker.group : 'default';
    const layers: Array<[unknown, Path]> = [
      [spec.config, ['config']],
      [rec(groups[groupName]).config, ['brokerGroups', groupName, 'config']],
      [broker.config, ['brokers', index, 'config']],
    ];
    const effective = (key: string): Setting => {
      let setting: Setting = { value: KAFKA_DEFAULTS[key]!, path: undefined };
      for (const [config, path] of layers) {
        const value = rec(config)[key];
        if (value !== undefined && Number.isFinite(Number(value))) setting = { value: Number(value), path: [...path, key] };
      }
      return setting;
    };
    for (const key of REPLICATION_FACTOR_KEYS) {
      const { value, path } = effective(key);
      if (value <= brokerCount) continue;
      if (path) report(path, `${key}=${value} is larger than the number of brokers (${brokerCount})`);
      else report(['config', key], `Kafka's default ${key}=${value} is larger than the number of brokers (${brokerCount}); set it to at most ${brokerCount}`);
    }
    for (const [isrKey, rfKey] of MIN_ISR_PAIRS) {
      const isr = effective(isrKey);
      const rf = effective(rfKey);
      if (isr.value > rf.value) {
        report(isr.path ?? ['config', isrKey], `${isrKey}=${isr.value} is larger than ${rfKey}=${rf.value}; writes with acks=all would always fail`);
      }
    }
  });
}

/** One config layer of a node (lowest precedence first) and where it is in the spec. */
type ConfigLayer = readonly [unknown, Path];
const isScalar = (v: unknown): v is string | number | boolean | bigint => ['string', 'number', 'boolean', 'bigint'].includes(typeof v);

/**
 * Kafka's cross-key and custom rules (config/kafka-rules.ts) on each node's merged config: every
 * broker (cluster < group < broker) and the dedicated controllers (cluster < controllers). Each
 * problem is reported once, at the layer that set the first key involved (the most specific layer
 * that set one of its keys, see KafkaRuleContext.rank), or at `config` when all are defaults.
 * Brokers without config of their own share their group's result (computed once per group and
 * role), so this stays linear in the number of brokers.
 */
function checkNodeRules(spec: Rec, brokers: unknown[], groups: Rec, controllers: Rec, add: Add): void {
  const report = once(add);
  const check = (layers: readonly ConfigLayer[], roles: readonly KafkaRole[], logDirs: readonly string[] | undefined) => {
    const config: Record<string, string> = {};
    const setBy = new Map<string, readonly [Path, number]>();
    layers.forEach(([layer, path], rank) => {
      for (const [key, value] of Object.entries(rec(layer))) {
        if (!isScalar(value)) continue;
        config[key] = String(value);
        setBy.set(key, [path, rank]);
      }
    });
    return checkKafkaRules(config, roles, { logDirs, rank: (key) => setBy.get(key)?.[1] ?? -1 }).map(({ keys, message }) => {
      const first = keys.find((k) => setBy.has(k));
      return { path: first === undefined ? ['config'] as Path : [...setBy.get(first)![0], first], message };
    });
  };

  const voterIds = controllers.mode !== 'combined' ? new Set<unknown>()
    : new Set<unknown>(controllers.brokerIds === undefined ? lowestIds(brokers, 3) : arr(controllers.brokerIds));
  const memo = new Map<string, ReturnType<typeof check>>();
  brokers.forEach((raw, index) => {
    const broker = rec(raw);
    const groupName = typeof broker.group === 'string' ? broker.group : 'default';
    const group = rec(groups[groupName]);
    const roles: KafkaRole[] = voterIds.has(broker.id) ? ['broker', 'controller'] : ['broker'];
    const layers: ConfigLayer[] = [[spec.config, ['config']], [group.config, ['brokerGroups', groupName, 'config']], [broker.config, ['brokers', index, 'config']]];
    const logDirs = nodeLogDirs(broker.storage ?? group.storage);
    // Without a config of its own, a broker differs from its group only by its volumes, which only cordoned.log.dirs reads.
    const own = broker.config !== undefined
      || (broker.storage !== undefined && [spec.config, group.config].some((c) => rec(c)['cordoned.log.dirs'] !== undefined));
    const memoKey = own ? undefined : `${groupName}\u0000${roles.join()}`;
    let found = memoKey === undefined ? undefined : memo.get(memoKey);
    if (!found) {
      found = check(layers, roles, logDirs);
      if (memoKey !== undefined) memo.set(memoKey, found);
    }
    for (const { path, message } of found) report(path, message);
  });
  if ((controllers.mode ?? 'dedicated') === 'dedicated') {
    for (const { path, message } of check([[spec.config, ['config']], [controllers.config, ['controllers', 'config']]], ['controller'], nodeLogDirs(controllers.storage))) {
      report(path, message);
    }
  }
}

/** The `count` lowest distinct broker ids (combined mode's default voters), in one pass. */
function lowestIds(brokers: unknown[], count: number): number[] {
  const lowest: number[] = [];
  for (const raw of brokers) {
    const id = rec(raw).id;
    if (!isId(id) || lowest.includes(id)) continue;
    if (lowest.length < count) lowest.push(id);
    else if (id < lowest[count - 1]!) lowest[count - 1] = id;
    else continue;
    lowest.sort((a, b) => a - b);
  }
  return lowest;
}

/** The log.dirs kafka-cdk8s renders for a node's volumes (the default volume when none); undefined when the storage is malformed. */
function nodeLogDirs(storage: unknown): string[] | undefined {
  const volumes = storage === undefined ? [{ name: 'data-0' }] : storage;
  if (!Array.isArray(volumes) || volumes.length === 0) return undefined;
  const dirs: string[] = [];
  for (const raw of volumes) {
    const volume = rec(raw);
    const mount = typeof volume.mountPath === 'string' ? volume.mountPath : typeof volume.name === 'string' ? `/var/lib/kafka/${volume.name}` : undefined;
    if (mount === undefined) return undefined;
    dirs.push(`${mount}/${LOG_SUBDIR}`);
  }
  return dirs;
}

/**
 * Limits at least the requests, on each node's merged resources (a group's
 * limit and a broker's own request meet in one Pod) and on the runtime
 * controller's, reported at the limit. Brokers without resources of their own
 * share their group's result.
 */
function checkResources(brokers: unknown[], groups: Rec, controllers: Rec, operator: Rec, add: Add): void {
  const report = once(add);
  const check = (layers: readonly ConfigLayer[]) => {
    const requests = new Map<string, readonly [string, Path]>();
    const limits = new Map<string, readonly [string, Path]>();
    for (const [layer, path] of layers) {
      for (const [list, into] of [['requests', requests], ['limits', limits]] as const) {
        for (const [name, value] of Object.entries(rec(rec(layer)[list]))) {
          if (typeof value === 'string' || typeof value === 'number') into.set(name, [String(value), [...path, list, name]]);
        }
      }
    }
    for (const [name, [limit, limitPath]] of limits) {
      const request = requests.get(name);
      if (!request || !(quantityValue(limit) < quantityValue(request[0]))) continue;
      const where = formatPath(request[1].slice(0, -2)) === formatPath(limitPath.slice(0, -2)) ? '' : ` (${formatPath(request[1])})`;
      report(limitPath, `the limit ${limit} is below the request ${request[0]}${where}; a limit must be at least the request`);
    }
  };
  const checkedGroups = new Set<string>();
  brokers.forEach((raw, index) => {
    const broker = rec(raw);
    const groupName = typeof broker.group === 'string' ? broker.group : 'default';
    if (broker.resources === undefined && checkedGroups.has(groupName)) return;
    if (broker.resources === undefined) checkedGroups.add(groupName);
    check([[rec(groups[groupName]).resources, ['brokerGroups', groupName, 'resources']], [broker.resources, ['brokers', index, 'resources']]]);
  });
  check([[controllers.resources, ['controllers', 'resources']]]);
  check([[operator.resources, ['operator', 'resources']]]);
}
