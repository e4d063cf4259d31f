package queue

import (
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

func init() { handlers["dest-edit"] = (*env).cmdDestEdit }

// cmdDestEdit: dest-edit dest=q [retention=R] [max-msgs=N] [max-bytes=N]
// [max-age=S] [flags=F]: the fields given are set (flags overrides which,
// for bad records).
func (e *env) cmdDestEdit(td *datadriven.TestData) string {
	r := Record{Type: RecordDestEdit, Time: e.timeArg(td, "t"), Dest: []byte(str(td, "dest", "q"))}
	if td.HasArg("retention") {
		r.Flags |= EditRetention
		r.Config.Retention = retentionArg(e.t, str(td, "retention", ""))
	}
	if td.HasArg("max-msgs") {
		r.Flags |= EditMaxMsgs
		r.Config.MaxMsgs = e.intArg(td, "max-msgs", 0)
	}
	if td.HasArg("max-bytes") {
		r.Flags |= EditMaxBytes
		r.Config.MaxBytes = e.intArg(td, "max-bytes", 0)
	}
	if td.HasArg("max-age") {
		r.Flags |= EditMaxAge
		r.Config.MaxAge = time.Duration(secs(e.t, str(td, "max-age", "0")))
	}
	if td.HasArg("flags") {
		r.Flags = uint8(e.intArg(td, "flags", 0))
	}
	return e.applyAdmin(&r)
}

// TestDestEditRecordRoundTrip: a RecordDestEdit decodes to what was
// encoded, and a truncated one is corrupt.
func TestDestEditRecordRoundTrip(t *testing.T) {
	want := Record{Type: RecordDestEdit, Time: 12, Dest: []byte("orders"), Flags: EditMaxMsgs | EditMaxAge,
		Config: DestConfig{MaxMsgs: 7, MaxAge: -1}}
	require.Equal(t, "dest-edit", want.Type.String())
	b := AppendRecord(nil, &want)
	var got Record
	require.NoError(t, DecodeRecord(b, &got))
	require.Equal(t, want.Type, got.Type)
	require.Equal(t, want.Time, got.Time)
	require.Equal(t, want.Dest, got.Dest)
	require.Equal(t, want.Flags, got.Flags)
	require.Equal(t, want.Config, got.Config)
	for n := range len(b) {
		err := DecodeRecord(b[:n], &got)
		require.True(t, IsCorrupt(err), "cut at %d: %v", n, err)
	}
	err := DecodeRecord(append(b, 0), &got)
	require.True(t, IsCorrupt(err))
	require.True(t, strings.Contains(err.Error(), "after dest-edit record"), err.Error())
}
