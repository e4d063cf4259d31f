package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/swarmmq/swarmmq/conf/clientconf"
	"github.com/swarmmq/swarmmq/stages/adminapi"
)

// term is where swarmctl asks (in), prints (out) and warns (err).
type term struct {
	in       io.Reader
	out, err io.Writer
}

// errAborted is the answer "no" to a confirmation.
var errAborted = errors.New("aborted: nothing changed")

// confirm asks question on t and reports whether the answer is yes. An
// input that ends (not a terminal, say) is a no.
func (t term) confirm(question string) error {
	fmt.Fprintf(t.out, "%s [y/N] ", question)
	line, err := bufio.NewReader(t.in).ReadString('\n')
	ans := strings.ToLower(strings.TrimSpace(line))
	if ans == "y" || ans == "yes" {
		return nil
	}
	if err != nil && line == "" {
		fmt.Fprintln(t.out)
		return fmt.Errorf("%w (no answer on stdin: pass --force to skip the question)", errAborted)
	}
	return errAborted
}

// dispatchWrite runs the commands that change the node, and msg get.
func dispatchWrite(ctx context.Context, cmd string, f clientconf.CtlFlags, a *api, t term) error {
	switch cmd {
	case "dest create <name>":
		c := f.Dest.Create
		body := adminapi.CreateDestination{Name: c.Name, Retention: c.Retention, MaxMsgs: c.MaxMsgs, MaxBytes: c.MaxBytes,
			MaxAgeSeconds: c.MaxAge.Seconds()}
		return change(ctx, a, http.MethodPost, adminapi.PathDestinations, body, f.JSON, t.out)
	case "dest edit <name>":
		e := f.Dest.Edit
		body := adminapi.EditDestination{Retention: e.Retention, MaxMsgs: e.MaxMsgs, MaxBytes: e.MaxBytes}
		if e.MaxAge != nil {
			s := e.MaxAge.Seconds()
			body.MaxAgeSeconds = &s
		}
		if body == (adminapi.EditDestination{}) {
			return errors.New("dest edit: nothing to change: give --retention, --max-msgs, --max-bytes or --max-age")
		}
		return change(ctx, a, http.MethodPatch, destPath(e.Name), body, f.JSON, t.out)
	case "dest purge <name>":
		return destructive(ctx, a, f.Dest.Purge.Name, "", f.Dest.Purge.Force, f.JSON, t,
			http.MethodPost, destPath(f.Dest.Purge.Name)+adminapi.SubPurge)
	case "dest delete <name>":
		return destructive(ctx, a, f.Dest.Delete.Name, "", f.Dest.Delete.Force, f.JSON, t,
			http.MethodDelete, destPath(f.Dest.Delete.Name))
	case "group delete <dest> <group>":
		g := f.Group.Delete
		return destructive(ctx, a, g.Dest, g.Group, g.Force, f.JSON, t, http.MethodDelete, groupPath(g.Dest, g.Group))
	case "group reset <dest> <group>", "group reset <dest> <group> <value>":
		g := f.Group.Reset
		body, err := resetBody(g.To, g.Value)
		if err != nil {
			return err
		}
		return change(ctx, a, http.MethodPost, groupPath(g.Dest, g.Group)+adminapi.SubReset, body, f.JSON, t.out)
	case "msg get <dest> <seq>":
		return msgGet(ctx, a, f, t.out)
	case "dlq replay <dest>":
		return change(ctx, a, http.MethodPost, destPath(f.DLQ.Replay.Dest)+adminapi.SubReplay, nil, f.JSON, t.out)
	}
	return errors.New("BUG: no command " + cmd)
}

// destructive asks before it sends a purge or a delete, saying what it
// would drop, unless force.
func destructive(ctx context.Context, a *api, dest, group string, force, asJSON bool, t term, method, path string) error {
	if !force {
		var d adminapi.Destination
		if _, err := a.get(ctx, atLeader(destPath(dest)), &d); err != nil {
			return err
		}
		q := fmt.Sprintf("Purge the %d messages (%d bytes) of %s?", d.Depth, d.Bytes, dest)
		switch {
		case group != "":
			q = fmt.Sprintf("Delete group %s of %s?", group, dest)
		case method == http.MethodDelete:
			q = fmt.Sprintf("Delete %s, its %d messages and its %d groups?", dest, d.Depth, len(d.Groups))
		}
		if err := t.confirm(q); err != nil {
			return err
		}
	}
	return change(ctx, a, method, path, nil, asJSON, t.out)
}

// resetBody parses --to (earliest, latest, seq N, seq:N, time T, time:T).
func resetBody(to, value string) (adminapi.Reset, error) {
	kind, v, hasColon := strings.Cut(to, ":")
	if hasColon && value != "" {
		return adminapi.Reset{}, fmt.Errorf("--to %s and %s: give the position once", to, value)
	}
	if !hasColon {
		v = value
	}
	switch kind {
	case "earliest", "latest":
		if v != "" {
			return adminapi.Reset{}, fmt.Errorf("--to %s takes no value (got %q)", kind, v)
		}
		return adminapi.Reset{To: kind}, nil
	case "seq":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return adminapi.Reset{}, fmt.Errorf("--to seq %q: want a seq from 1 (--to seq 42)", v)
		}
		return adminapi.Reset{To: "seq", Seq: n}, nil
	case "time":
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			return adminapi.Reset{}, fmt.Errorf("--to time %q: want RFC 3339 (--to time 2026-12-05T17:00:00Z)", v)
		}
		return adminapi.Reset{To: "time", Time: v}, nil
	}
	return adminapi.Reset{}, fmt.Errorf("--to %q: want earliest, latest, seq N or time T", to)
}

// change sends a write and prints what the node did.
func change(ctx context.Context, a *api, method, path string, body any, asJSON bool, out io.Writer) error {
	var c adminapi.Change
	raw, err := a.do(ctx, method, path, body, &c)
	if err != nil {
		return err
	}
	if asJSON {
		_, err = out.Write(raw)
		return err
	}
	_, err = fmt.Fprintln(out, describe(c))
	return err
}

// describe says what a change did, in a sentence.
func describe(c adminapi.Change) string {
	switch c.Action {
	case "create":
		return fmt.Sprintf("Created %s (partition %d).", c.Destination, c.Partition)
	case "edit":
		return fmt.Sprintf("Changed %s (partition %d).", c.Destination, c.Partition)
	case "purge":
		return fmt.Sprintf("Purged %s: %d messages dropped.", c.Destination, c.Messages)
	case "delete":
		return fmt.Sprintf("Deleted %s: %d messages dropped.", c.Destination, c.Messages)
	case "reset":
		return fmt.Sprintf("Reset group %s of %s: it reads from seq %d.", c.Group, c.Destination, c.NextSeq)
	case "group-delete":
		return fmt.Sprintf("Deleted group %s of %s.", c.Group, c.Destination)
	case "replay":
		return fmt.Sprintf("Replayed %d messages from %s.dlq into %s.", c.Messages, c.Destination, c.Destination)
	}
	return fmt.Sprintf("%s %s: done.", c.Action, c.Destination)
}

// msgGet prints one message: a table, its JSON, or its payload alone.
func msgGet(ctx context.Context, a *api, f clientconf.CtlFlags, out io.Writer) error {
	g := f.Msg.Get
	var m adminapi.Message
	raw, err := a.get(ctx, atLeader(destPath(g.Dest)+adminapi.SubMessages+strconv.FormatUint(g.Seq, 10)), &m)
	switch {
	case err != nil:
		return err
	case g.Raw:
		_, err = out.Write(m.Payload)
	case f.JSON:
		_, err = out.Write(raw)
	default:
		err = printMessage(out, m)
	}
	return err
}

func printMessage(out io.Writer, m adminapi.Message) error {
	tw := table(out)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("Destination", m.Destination)
	row("Seq", m.Seq)
	row("ID", m.ID)
	row("Producer", m.Producer)
	row("Timestamp", m.Timestamp)
	row("Stored at", m.StoredAt)
	key := fmt.Sprint(m.KeyID)
	if m.KeyID == 0 {
		key += " (not sealed)"
	}
	row("Key id", key)
	row("Size", fmt.Sprintf("%d bytes", m.Size))
	row("Payload", payloadText(m))
	for _, h := range m.Headers {
		row("Header", strconv.Quote(h.Key)+": "+strconv.Quote(h.Value))
	}
	if dl := m.DeadLetter; dl != nil {
		why := dl.Reason
		if why == "max_deliver" {
			why = "delivered " + strconv.FormatUint(uint64(dl.Attempts), 10) + " times without an ack (max_deliver)"
		}
		row("Dead-lettered from", fmt.Sprintf("%s seq %d, by group %s", dl.Destination, dl.Seq, dl.Group))
		row("Why", why)
	}
	return tw.Flush()
}

// payloadText shows a payload as text when it is printable UTF-8 (cut at
// 200 bytes), else says how to get its bytes.
func payloadText(m adminapi.Message) string {
	if m.KeyID != 0 {
		return "(sealed: --raw writes its bytes)"
	}
	p := m.Payload
	cut := len(p) > 200
	if cut {
		p = p[:200]
	}
	if !utf8.Valid(p) || strings.ContainsFunc(string(p), func(r rune) bool { return r < ' ' && r != '\t' }) {
		return "(binary: --raw writes its bytes, --json has it in base64)"
	}
	if cut {
		return strconv.Quote(string(p)) + "…"
	}
	return strconv.Quote(string(p))
}
