package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/swarmmq/swarmmq/conf"
)

// TestRefusesCluster: a node started on a multi-node config refuses to run
// (clustering is not wired yet) before it opens anything, while
// --check-config and --print-config accept the same config.
func TestRefusesCluster(t *testing.T) {
	cluster := filepath.Join("..", "..", "configs", "cluster-5.yaml")
	data := filepath.Join(t.TempDir(), "data")
	err := run(conf.NodeFlags{Config: cluster, NodeID: "node-2", DataDir: data})
	if err == nil || !strings.Contains(err.Error(), "clustering is not wired yet") || !strings.Contains(err.Error(), "lists 5") {
		t.Fatalf("run on cluster-5.yaml: %v", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused node touched its data directory: %v", err)
	}
	if err := run(conf.NodeFlags{Config: cluster, NodeID: "node-2", Check: true}); err != nil {
		t.Fatalf("--check-config: %v", err)
	}
	if err := run(conf.NodeFlags{Config: cluster, NodeID: "node-2", Dump: true}); err != nil {
		t.Fatalf("--print-config: %v", err)
	}
	if err := run(conf.NodeFlags{Config: cluster, Check: true}); err == nil || !strings.Contains(err.Error(), "--node-id: required") {
		t.Fatalf("--check-config without --node-id: %v", err)
	}
	cfg, err := conf.LoadNode(conf.NodeFlags{Config: filepath.Join("..", "..", "configs", "mvp-cluster.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if err := refuseCluster(cfg); err != nil {
		t.Fatalf("single node refused: %v", err)
	}
}
