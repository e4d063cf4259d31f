package queue

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// Trace commands of the admin records (admin.go).

func retentionArg(t testing.TB, s string) Retention {
	r, err := ParseRetention(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// applyAdmin applies an admin record and prints its one result.
func (e *env) applyAdmin(r *Record) string {
	res, err := e.apply(r)
	if err != nil {
		return "error: " + err.Error()
	}
	if len(res) != 1 {
		e.t.Fatalf("%s record: %d results, want 1", r.Type, len(res))
	}
	switch x := res[0]; x.Code {
	case CodeOK:
		return fmt.Sprintf("ok seq=%d count=%d", x.Seq, x.Count)
	case CodeNoDestination:
		return "no destination"
	case CodeNoGroup:
		return "no group"
	default:
		return fmt.Sprintf("code=%d", x.Code)
	}
}

func (e *env) cmdDestConfig(td *datadriven.TestData) string {
	cfg := DestConfig{
		Retention: retentionArg(e.t, str(td, "retention", "")),
		MaxMsgs:   e.intArg(td, "max-msgs", 0),
		MaxBytes:  e.intArg(td, "max-bytes", 0),
		MaxAge:    time.Duration(secs(e.t, str(td, "max-age", "0"))),
	}
	return e.applyAdmin(&Record{Type: RecordDestConfig, Time: e.timeArg(td, "t"), Dest: []byte(str(td, "dest", "q")), Config: cfg})
}

func (e *env) cmdPurge(td *datadriven.TestData) string {
	return e.applyAdmin(&Record{Type: RecordPurge, Time: e.timeArg(td, "t"), Dest: []byte(str(td, "dest", "q"))})
}

func (e *env) cmdDeleteDest(td *datadriven.TestData) string {
	return e.applyAdmin(&Record{Type: RecordDestDelete, Time: e.timeArg(td, "t"), Dest: []byte(str(td, "dest", "q"))})
}

func (e *env) cmdReplay(td *datadriven.TestData) string {
	return e.applyAdmin(&Record{Type: RecordReplay, Time: e.timeArg(td, "t"), Dest: []byte(str(td, "dest", "q"))})
}

func (e *env) cmdDeleteGroup(td *datadriven.TestData) string {
	return e.applyAdmin(&Record{Type: RecordGroupDelete, Time: e.timeArg(td, "t"),
		Dest: []byte(str(td, "dest", "q")), Group: []byte(str(td, "group", "g"))})
}

// cmdReset: reset dest=q group=g to=earliest|latest|seq:N|time:S [create].
func (e *env) cmdReset(td *datadriven.TestData) string {
	r := Record{Type: RecordGroupReset, Time: e.timeArg(td, "t"), Dest: []byte(str(td, "dest", "q")),
		Group: []byte(str(td, "group", "g")), Start: startArg(e.t, str(td, "to", "earliest"))}
	if td.HasArg("create") {
		r.Flags = FlagCreate
	}
	return e.applyAdmin(&r)
}

// startArg parses earliest, latest, seq:N or time:S (seconds).
func startArg(t testing.TB, s string) Start {
	kind, v, _ := strings.Cut(s, ":")
	switch kind {
	case "earliest":
		return Start{Kind: StartEarliest}
	case "latest":
		return Start{Kind: StartLatest}
	case "seq":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("bad start %q", s)
		}
		return Start{Kind: StartSeq, At: n}
	case "time":
		return Start{Kind: StartTime, At: uint64(secs(t, v))}
	case "kind":
		n, _ := strconv.Atoi(v) // a raw kind, to test the check
		return Start{Kind: StartKind(n)}
	}
	t.Fatalf("bad start %q", s)
	return Start{}
}

// cmdPeek: peek dest=q seqs=1-3.
func (e *env) cmdPeek(td *datadriven.TestData) string {
	var b strings.Builder
	for _, seq := range seqList(e.t, str(td, "seqs", "1")) {
		pk, ok := e.p.Peek([]byte(str(td, "dest", "q")), seq)
		if !ok {
			fmt.Fprintf(&b, "%d: absent\n", seq)
			continue
		}
		msg := pk.Msg
		if msg == nil {
			rec, err := e.log.read(pk.Loc.Index)
			if err == nil {
				msg, err = MessageAt(rec, pk.Loc)
			}
			if err != nil {
				fmt.Fprintf(&b, "%d: error: %v\n", seq, err)
				continue
			}
		}
		fmt.Fprintf(&b, "%d: msg=%s time=%s", seq, idName(msgID(msg)), fmtSecs(pk.Time))
		if o := pk.Origin; o != nil {
			fmt.Fprintf(&b, " from=%s/%d attempts=%d reason=%d", o.Group, o.Seq, o.Attempts, o.Reason)
			if o.Note != "" {
				fmt.Fprintf(&b, " note=%q", o.Note)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
