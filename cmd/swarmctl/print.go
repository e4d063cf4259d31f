package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/swarmmq/swarmmq/stages/adminapi"
)

func table(out io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
}

func printStatus(out io.Writer, s adminapi.Status) error {
	tw := table(out)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("Node", s.NodeID)
	if s.Cluster != "" {
		row("Cluster", s.Cluster)
	}
	row("Version", s.Version)
	health := s.Status
	if s.Error != "" {
		health += " (" + s.Error + ")"
	}
	row("Health", health)
	row("Uptime", seconds(s.UptimeSeconds))
	row("Client address", s.Addr)
	row("Partitions led", fmt.Sprintf("%d of %d", len(s.PartitionsLed), s.Partitions))
	row("Destinations", s.Destinations)
	row("Connections", s.Connections)
	return tw.Flush()
}

func printDestinations(out io.Writer, ds []adminapi.Destination) error {
	tw := table(out)
	fmt.Fprintln(tw, "DESTINATION\tPARTITION\tDEPTH\tBYTES\tOLDEST\tLAST SEQ\tMSG/S 10S\tMSG/S 1M\tPUBLISHED\tGROUPS")
	for _, d := range ds {
		names := make([]string, len(d.Groups))
		for i, g := range d.Groups {
			names[i] = g.Name
		}
		groups := strings.Join(names, ",")
		if groups == "" {
			groups = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t%d\t%s\n", d.Name, d.Partition, d.Depth, d.Bytes, age(d), d.LastSeq,
			rate(d.Publish.MsgsPerSec10s), rate(d.Publish.MsgsPerSec1m), d.Publish.Messages, groups)
	}
	return tw.Flush()
}

func printDestination(out io.Writer, d adminapi.Destination) error {
	tw := table(out)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("Destination", d.Name)
	row("Partition", d.Partition)
	row("Depth", d.Depth)
	row("Bytes", d.Bytes)
	row("Oldest message", age(d))
	row("Seqs retained", fmt.Sprintf("%d..%d", d.FirstSeq, d.LastSeq))
	row("Published", fmt.Sprintf("%d messages, %d bytes (since the node started)", d.Publish.Messages, d.Publish.Bytes))
	row("Publish rate", fmt.Sprintf("%s msg/s, %s B/s over 10s; %s msg/s, %s B/s over 1m",
		rate(d.Publish.MsgsPerSec10s), rate(d.Publish.BytesPerSec10s), rate(d.Publish.MsgsPerSec1m), rate(d.Publish.BytesPerSec1m)))
	row("Retention", d.Limits.Retention)
	row("Max msgs", unlimited(d.Limits.MaxMsgs))
	row("Max bytes", unlimited(d.Limits.MaxBytes))
	row("Max age", unlimitedSeconds(d.Limits.MaxAgeSeconds))
	row("Max deliver", d.Limits.MaxDeliver)
	row("Ack timeout", seconds(d.Limits.AckTimeoutSeconds))
	return thenTable(out, tw, len(d.Groups) == 0, "No groups.", func() error { return printGroups(out, d.Groups) })
}

// thenTable flushes tw (a block of rows), then after a blank line prints
// none when the table would be empty, else the table table prints.
func thenTable(out io.Writer, tw *tabwriter.Writer, empty bool, none string, table func() error) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	if empty {
		_, err := fmt.Fprintln(out, "\n"+none)
		return err
	}
	fmt.Fprintln(out)
	return table()
}

func printGroups(out io.Writer, gs []adminapi.Group) error {
	tw := table(out)
	fmt.Fprintln(tw, "GROUP\tLAG\tPENDING\tIN FLIGHT\tACK FLOOR\tREDELIVERED\tDEAD-LETTERED\tMEMBERS")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", g.Name, g.Lag, g.Pending, g.InFlight, g.AckFloor, g.Redeliveries,
			g.DeadLettered, len(g.Members))
	}
	return tw.Flush()
}

func printGroup(out io.Writer, g adminapi.Group) error {
	tw := table(out)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("Group", g.Name)
	row("Lag", g.Lag)
	row("Pending", g.Pending)
	row("In flight", g.InFlight)
	row("Ack floor", g.AckFloor)
	row("Redelivered", g.Redeliveries)
	row("Dead-lettered", g.DeadLettered)
	return thenTable(out, tw, len(g.Members) == 0, "No members (no connection fetching for the group on the partition's leader).",
		func() error { return printMembers(out, g.Members) })
}

// printMembers prints a group's members; the fetches other nodes
// forwarded are one row, "forwarded".
func printMembers(out io.Writer, ms []adminapi.GroupMember) error {
	tw := table(out)
	fmt.Fprintln(tw, "CONN\tREMOTE\tCLIENT\tLAST FETCH\tIN FLIGHT\tDELIVERED\tWAITING")
	for _, m := range ms {
		conn, remote := fmt.Sprint(m.Conn), dash(m.Remote)
		if m.Forwarded {
			conn, remote = "forwarded", "(other nodes)"
		}
		waiting := "no"
		if m.Waiting {
			waiting = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t%d\t%d\t%s\n", conn, remote, dash(m.ClientID), seconds(m.LastFetchAgeSeconds),
			m.InFlight, m.Delivered, waiting)
	}
	return tw.Flush()
}

// rate prints a per-second rate: one decimal below 100.
func rate(x float64) string {
	if x < 100 {
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 0, 64)
}

// age is the oldest message's age, "-" when the destination is empty.
func age(d adminapi.Destination) string {
	if d.Depth == 0 {
		return "-"
	}
	return seconds(d.OldestAgeSeconds)
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

func unlimited(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

func unlimitedSeconds(s float64) string {
	if s == 0 {
		return "unlimited"
	}
	return seconds(s)
}
