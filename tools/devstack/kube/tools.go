//go:build tools

// Package tools records the programs build.sh compiles, so that `go mod tidy` keeps
// their dependencies in go.mod and go.sum. It is never compiled.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
