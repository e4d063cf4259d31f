package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/swarmmq/swarmmq/client"
	"github.com/swarmmq/swarmmq/seal"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

const (
	warnToSealed   = "sealed mode over a data directory that may still hold messages stored unsealed"
	warnToUnsealed = "unsealed mode over a data directory that may still hold messages stored sealed"
)

// restartWith restarts n with kr (nil: unsealed) and a new log buffer,
// which it returns.
func restartWith(t *testing.T, n *nodetest.Node, kr *seal.Keyring) *logBuf {
	t.Helper()
	var lb logBuf
	n.Opts.Keyring = kr
	n.Opts.Logger = lb.logger()
	n.Restart()
	return &lb
}

// TestSealingSwitchWarns: a node restarted in sealed mode over unsealed
// messages warns at start, until they are consumed; and the other way
// round. Starts in one mode throughout say nothing.
func TestSealingSwitchWarns(t *testing.T) {
	kr := testKeyring(t)
	var first logBuf
	n := nodetest.Start(t, func(o *stages.Options) { o.Logger = first.logger() })
	publishN(t, dial(t, n), "q", "plain", 3)
	lb := restartWith(t, n, nil)
	for _, l := range []*logBuf{&first, lb} {
		if s := l.String(); strings.Contains(s, warnToSealed) || strings.Contains(s, warnToUnsealed) {
			t.Fatalf("a warning without a switch:\n%s", s)
		}
	}

	lb = restartWith(t, n, kr)
	if s := lb.String(); !strings.Contains(s, warnToSealed) || !strings.Contains(s, "retained_messages_there=3") {
		t.Fatalf("no warning on the switch to sealed mode:\n%s", s)
	}
	lb = restartWith(t, n, kr)
	if !strings.Contains(lb.String(), warnToSealed) {
		t.Fatalf("the warning went before the messages did:\n%s", lb.String())
	}
	// A consumer without a keyring takes the unsealed messages.
	if got := payloads(drain(t, dial(t, n), "q", "g", true)); len(got) != 3 {
		t.Fatalf("drained %q", got)
	}
	lb = restartWith(t, n, kr)
	if strings.Contains(lb.String(), warnToSealed) {
		t.Fatalf("a warning after the unsealed messages were consumed:\n%s", lb.String())
	}

	// Sealed messages, then unsealed mode.
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{Addr: n.AddrString(), Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, "q", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	lb = restartWith(t, n, nil)
	if s := lb.String(); !strings.Contains(s, warnToUnsealed) || strings.Contains(s, warnToSealed) {
		t.Fatalf("want only the warning of the switch to unsealed mode:\n%s", s)
	}
}
