package frame

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCodesGolden holds codes.go to testdata/codes, the append-only list of
// wire codes: a renumbered, renamed or reclassified code fails here, and so
// does a new code that is not appended to the file. Never regenerate the
// file; only add lines at its end.
func TestCodesGolden(t *testing.T) {
	file, err := os.Open("testdata/codes")
	require.NoError(t, err)
	defer func() { _ = file.Close() }()
	next := 0
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		require.Len(t, fs, 3, "line %q", line)
		n, err := strconv.Atoi(fs[0])
		require.NoError(t, err)
		require.Equal(t, next, n, "codes must be listed in order without gaps")
		c := Code(n)
		require.True(t, c.Known(), "code %d", n)
		require.Equal(t, fs[1], c.String(), "code %d", n)
		require.Equal(t, fs[2] == "fatal", c.Fatal(), "code %d %s", n, fs[1])
		next++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, len(codeNames), next, "codes.go and testdata/codes differ in length")
	require.False(t, Code(next).Known())
}

func TestCodeString(t *testing.T) {
	require.Equal(t, "DESTINATION_FULL", CodeDestinationFull.String())
	require.Equal(t, "SLOW_CONSUMER", CodeSlowConsumer.String())
	require.Equal(t, "DISK_FULL", CodeDiskFull.String())
	require.Equal(t, "CODE(999)", Code(999).String())
	for c := range Code(len(codeNames)) {
		require.NotEmpty(t, c.String(), "code %d has no name", c)
	}
}

func TestFatal(t *testing.T) {
	fatal := map[Code]bool{
		CodeMalformed: true, CodeTooLarge: true, CodeUnsupportedVersion: true, CodeUnknownType: true,
		CodeHandshakeRequired: true, CodeHandshakeTimeout: true, CodeIdleTimeout: true,
		CodeTooManyConnections: true, CodeFlowControl: true, CodeShuttingDown: true, CodeSlowConsumer: true,
		CodePeerRefused: true,
	}
	for c := range Code(100) {
		require.Equal(t, fatal[c], c.Fatal(), "%v", c)
	}
}

func TestError(t *testing.T) {
	e := &Error{Code: CodeDestinationFull, Msg: "destination q is full"}
	require.Equal(t, "swarmmq: DESTINATION_FULL: destination q is full", e.Error())
	require.Equal(t, "swarmmq: NOT_LEADER", (&Error{Code: CodeNotLeader}).Error())

	wrapped := fmt.Errorf("cannot publish: %w", e)
	got, ok := errors.AsType[*Error](wrapped)
	require.True(t, ok)
	require.Same(t, e, got)
	require.Equal(t, CodeDestinationFull, CodeOf(wrapped))
	require.Equal(t, CodeOK, CodeOf(nil))
	require.Equal(t, CodeInternal, CodeOf(errors.New("disk on fire")))
}
