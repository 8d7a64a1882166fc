//go:build tools

// Package tools only exists so that `go mod tidy` keeps k8s.io/kubernetes and the
// packages of cmd/kube-apiserver and cmd/kube-controller-manager in go.mod/go.sum. The
// binaries themselves are built with `go build k8s.io/kubernetes/cmd/<name>` by
// test/bed/install-kube.sh.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
