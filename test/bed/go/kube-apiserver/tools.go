//go:build tools

// Package tools only exists so that `go mod tidy` keeps k8s.io/kubernetes and the
// packages of cmd/kube-apiserver in go.mod/go.sum. The binary itself is built with
// `go build k8s.io/kubernetes/cmd/kube-apiserver` by test/bed/install-kube.sh.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
