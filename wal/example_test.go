package wal_test

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/swarmmq/swarmmq/wal"
)

func Example() {
	l, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 4})
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()

	// One batch per ring drain: entries of several partitions, one fsync.
	entries := []wal.Entry{
		{Partition: 1, Data: []byte("first")},
		{Partition: 2, Data: []byte("other")},
		{Partition: 1, Data: []byte("second")},
	}
	indexes := make([]uint64, len(entries))
	p, err := l.Append(entries, indexes)
	if err != nil {
		panic(err)
	}
	if err := p.Wait(); err != nil { // durable: acknowledge now
		panic(err)
	}
	fmt.Println("indexes:", indexes)

	_ = l.Replay(1, 0, func(index uint64, data []byte) error {
		fmt.Printf("partition 1, index %d: %s\n", index, data)
		return nil
	})
	// Output:
	// indexes: [1 1 2]
	// partition 1, index 1: first
	// partition 1, index 2: second
}

func ExampleLog_SaveSnapshot() {
	l, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 1})
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	for _, s := range []string{"a", "b", "c"} {
		p, err := l.Append([]wal.Entry{{Partition: 0, Data: []byte(s)}}, make([]uint64, 1))
		if err != nil {
			panic(err)
		}
		if err := p.Wait(); err != nil {
			panic(err)
		}
	}
	// The state after index 2 replaces entries 1 and 2, but still points
	// at entry 2: only entry 1 is trimmed.
	if err := l.SaveSnapshot(0, 2, 2, []byte("state: a, b@2")); err != nil {
		panic(err)
	}
	index, state, _, _ := l.LoadSnapshot(0)
	fmt.Printf("snapshot at %d: %s\n", index, state)
	_ = l.Replay(0, 0, func(index uint64, data []byte) error {
		fmt.Printf("replay index %d: %s\n", index, data)
		return nil
	})
	b, err := l.Read(0, 2, nil)
	fmt.Printf("read index 2: %s %v\n", b, err)
	_, err = l.Read(0, 1, nil)
	fmt.Println(err)
	// Output:
	// snapshot at 2: state: a, b@2
	// replay index 3: c
	// read index 2: b <nil>
	// swarmmq/wal: no such entry: partition 0, index 1
}

func ExampleParseSyncPolicy() {
	p, err := wal.ParseSyncPolicy("interval")
	fmt.Println(p, err)
	_, err = wal.ParseSyncPolicy("never")
	fmt.Println(err)
	// Output:
	// interval <nil>
	// swarmmq/wal: unknown sync policy "never" (want "always" or "interval")
}
