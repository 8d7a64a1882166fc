#!/usr/bin/env bash
# Installs the whole test bed (cached under ${KAFKA_CDK8S_CACHE:-~/.cache/kafka-cdk8s}):
# Kafka from Maven Central (versions.json's kafka and kafkaPrevious, for upgrade tests);
# kube-apiserver, kube-controller-manager, etcd and the GitOps tools (Flux's apply code,
# Argo CD's normalizer) built from the Go module proxy.
# Idempotent and quick when the cache is warm; `npm test` runs it first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/install-kafka.sh"
bash "$here/install-kube.sh"
bash "$here/install-gitops.sh"
bash "$here/install-alertmanager.sh"
bash "$here/install-envoy.sh"
