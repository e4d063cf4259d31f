package stages

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/adminapi"
)

// FuzzAdminBodies feeds arbitrary bytes to the admin writes' body
// decoding (dest create, dest edit, group reset): never a panic; a body refused is
// an apiError (answered 400); a body accepted makes a record that the
// partition log's codec takes back unchanged and that applies.
func FuzzAdminBodies(f *testing.F) {
	for _, s := range []string{
		`{"name":"orders","retention":"limits","max_msgs":10,"max_bytes":-1,"max_age_seconds":3600}`,
		`{"name":"q.dlq","max_age_seconds":-1}`, `{"name":"a b"}`, `{"name":"x","max_age_seconds":1e300}`,
		`{"to":"earliest"}`, `{"to":"seq","seq":42}`, `{"to":"time","time":"2026-12-05T17:00:00Z"}`, `{"to":"first"}`,
		`{"max_msgs":3}`, `{"retention":"interest","max_bytes":0,"max_age_seconds":-1}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var c adminapi.CreateDestination
		if json.Unmarshal(body, &c) == nil {
			rec, err := createRecord(c)
			checkAdminRecord(t, rec, err)
		}
		var r adminapi.Reset
		if json.Unmarshal(body, &r) == nil {
			start, err := startOf(r)
			rec := queue.Record{Type: queue.RecordGroupReset, Dest: []byte("q"), Group: []byte("g"), Start: start}
			checkAdminRecord(t, rec, err)
		}
		var e adminapi.EditDestination
		if json.Unmarshal(body, &e) == nil {
			rec, err := editRecord([]byte("q"), e)
			checkAdminRecord(t, rec, err)
		}
	})
}

func checkAdminRecord(t *testing.T, rec queue.Record, err error) {
	var ae *apiError
	if err != nil {
		if !errors.As(err, &ae) || ae.code != 400 {
			t.Fatalf("refused with %v, not a 400", err)
		}
		return
	}
	b := queue.AppendRecord(nil, &rec)
	var back queue.Record
	if err := queue.DecodeRecord(b, &back); err != nil {
		t.Fatalf("the record does not decode: %v", err)
	}
	if !bytes.Equal(queue.AppendRecord(nil, &back), b) {
		t.Fatal("the record does not round-trip")
	}
	p, _ := queue.New(0, queue.Options{DedupeMax: 16, ProducerWindow: 4, MaxProducerKeys: 8}) // small: one per input
	if _, err := p.Apply(1, &back, nil); err != nil {
		t.Fatalf("the record does not apply: %v", err)
	}
}
