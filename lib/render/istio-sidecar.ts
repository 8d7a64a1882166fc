/**
 * Istio with classic (non-native) sidecars: the istio-proxy container starts
 * beside Kafka, not before it, and does not stop when Kafka stops. So the start
 * script waits until the proxy is ready (Kafka's outbound connections fail
 * before), and runs Kafka as a child rather than exec'ing it, to tell the proxy
 * to quit once Kafka has exited (else the Pod never ends). With native sidecars
 * (an init container with restartPolicy Always) Kubernetes does both, and none
 * of this is needed.
 *
 * Bash text for the start script, needing nothing but bash, with curl when the image has
 * it; without (the apache/kafka image removes its download tools), the same requests
 * go through bash's /dev/tcp, bounded by `timeout`:
 *
 *   ${sidecarWaitFunction()}
 *   ${sidecarQuitFunction()}
 *   wait_for_sidecar || exit 1
 *   ...format storage...
 *   ${superviseWithSidecar('/opt/kafka/bin/kafka-server-start.sh "$conf/server.properties"')}
 *
 * The functions run under `set -euo pipefail` and log with the start script's
 * `kafka-cdk8s:` prefix, without needing its log().
 */

/** Env vars the functions read; like every start-script env var, they carry the KAFKA_CDK8S_ prefix. */
export const ISTIO_ENV = {
  /** GET answers 200 once the istio-proxy sidecar is ready. */
  readyUrl: 'KAFKA_CDK8S_ISTIO_READY_URL',
  /** How long wait_for_sidecar waits before it gives up (whole seconds). */
  readyTimeoutSeconds: 'KAFKA_CDK8S_ISTIO_READY_TIMEOUT_SECONDS',
  /** POST makes the istio-proxy sidecar exit. */
  quitUrl: 'KAFKA_CDK8S_ISTIO_QUIT_URL',
} as const;

/** Istio's own endpoints (pilot-agent's status port 15021, admin port 15020), used when the env vars are unset. */
export const ISTIO_DEFAULTS = {
  readyUrl: 'http://127.0.0.1:15021/healthz/ready',
  readyTimeoutSeconds: 300,
  quitUrl: 'http://127.0.0.1:15020/quitquitquit',
} as const;

/** A still-waiting line this often, so a stuck Pod's log says why without flooding it. */
export const SIDECAR_PROGRESS_SECONDS = 10;

/**
 * Defines `sidecar_http METHOD URL SECONDS`: prints the HTTP status of the request, or
 * 000 when nothing answered within SECONDS. curl if the image has it, else HTTP/1.0
 * over bash's /dev/tcp (plain http://host:port/path URLs, which Istio's are).
 */
function httpFunction(): string {
  return `sidecar_http() {
  local method=$1 url=$2 seconds=$3
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code}' -X "$method" --connect-timeout "$seconds" --max-time "$seconds" "$url" 2>/dev/null || true
    return 0
  fi
  local rest=\${url#http://} hostport path host port
  hostport=\${rest%%/*}
  path=\${rest#"$hostport"}; path=\${path:-/}
  host=\${hostport%:*}; port=\${hostport##*:}
  [ "$host" = "$hostport" ] && port=80
  timeout "$seconds" bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "%s %s HTTP/1.0\\r\\nHost: %s\\r\\nContent-Length: 0\\r\\n\\r\\n" "$3" "$4" "$1" >&3
    read -r _ code _ <&3 && printf %s "$code"' _ "$host" "$port" "$method" "$path" 2>/dev/null || printf 000
}`;
}

/**
 * Defines `wait_for_sidecar`: polls the readiness URL once a second until it
 * answers 200 (returns 0) or the timeout passes (returns 1, naming URL and
 * timeout). Each request is capped at 2 s, so a hung proxy cannot stretch the
 * timeout by more than that.
 */
export function sidecarWaitFunction(): string {
  return `${httpFunction()}
wait_for_sidecar() {
  local url="\${${ISTIO_ENV.readyUrl}:-${ISTIO_DEFAULTS.readyUrl}}"
  local timeout="\${${ISTIO_ENV.readyTimeoutSeconds}:-${ISTIO_DEFAULTS.readyTimeoutSeconds}}"
  local start=$SECONDS code
  case "$timeout" in ''|*[!0-9]*) echo "kafka-cdk8s: ${ISTIO_ENV.readyTimeoutSeconds}=$timeout is not a whole number of seconds" >&2; return 1 ;; esac
  local next_progress=$((start + ${SIDECAR_PROGRESS_SECONDS}))
  echo "kafka-cdk8s: waiting up to \${timeout}s for the istio-proxy sidecar to be ready ($url)"
  while :; do
    code=$(sidecar_http GET "$url" 2)
    if [ "$code" = 200 ]; then
      echo "kafka-cdk8s: the istio-proxy sidecar is ready after $((SECONDS - start))s"
      return 0
    fi
    # 000: nothing answered; the proxy is not listening yet, or hangs.
    [ "\${code:-000}" = 000 ] && code='no answer' || code="HTTP $code"
    # SECONDS counts whole seconds, so -gt: never less than the timeout, at most a second more.
    if [ $((SECONDS - start)) -gt "$timeout" ]; then
      echo "kafka-cdk8s: the istio-proxy sidecar is not ready after \${timeout}s: $url gave $code; not starting Kafka" >&2
      return 1
    fi
    if [ $SECONDS -ge $next_progress ]; then
      echo "kafka-cdk8s: still waiting for the istio-proxy sidecar after $((SECONDS - start))s ($url gave $code)"
      next_progress=$((SECONDS + ${SIDECAR_PROGRESS_SECONDS}))
    fi
    sleep 1
  done
}`;
}

/**
 * Defines `quit_sidecar`: asks the proxy to exit. Always returns 0: the Pod
 * must end with Kafka's status, whatever the proxy says. Needs sidecar_http
 * (defined with wait_for_sidecar).
 */
export function sidecarQuitFunction(): string {
  return `quit_sidecar() {
  local url="\${${ISTIO_ENV.quitUrl}:-${ISTIO_DEFAULTS.quitUrl}}" code
  code=$(sidecar_http POST "$url" 5)
  case "\${code:-000}" in
    2??) echo "kafka-cdk8s: told the istio-proxy sidecar to quit ($url: HTTP $code)" ;;
    000) echo "kafka-cdk8s: could not tell the istio-proxy sidecar to quit: no answer from $url" >&2 ;;
    *) echo "kafka-cdk8s: could not tell the istio-proxy sidecar to quit: $url gave HTTP $code" >&2 ;;
  esac
  return 0
}`;
}

/**
 * Runs `command` (bash text, e.g. the kafka-server-start.sh line) as a child
 * instead of exec'ing it, then quits the sidecar and exits with the child's
 * status. SIGTERM and SIGINT reach the child as SIGTERM: a background child of
 * a non-interactive bash ignores SIGINT, and the JVM keeps ignoring it, while
 * SIGTERM makes Kafka shut down cleanly. A trapped signal ends `wait` early
 * while the child still runs, so the loop waits again until the child is gone;
 * the last `wait` returns the status bash kept for the exited child.
 * Needs quit_sidecar (sidecarQuitFunction) defined before.
 */
export function superviseWithSidecar(command: string): string {
  return `${command} &
kafka_pid=$!
trap 'kill -TERM "$kafka_pid" 2>/dev/null || true' TERM INT
while kill -0 "$kafka_pid" 2>/dev/null; do wait "$kafka_pid" || true; done
kafka_status=0
wait "$kafka_pid" || kafka_status=$?
trap - TERM INT
echo "kafka-cdk8s: Kafka exited with status $kafka_status"
quit_sidecar
exit "$kafka_status"`;
}
