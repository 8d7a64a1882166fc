// Command etcd is the etcd server, built from the Go module proxy for the test bed
// (test/bed/install-kube.sh). It is the same entry point as the upstream etcd binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
