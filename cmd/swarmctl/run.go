package main

import (
	"context"
	"fmt"
	"io"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/conf/clientconf"
)

// exitParse is kong's exit request (after --help or --version) or a bad
// command line.
type exitParse struct{ code int }

// run parses args, runs the command and returns the exit status: 0 done,
// 1 an error (printed on stderr), 2 a bad command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var flags clientconf.CtlFlags
	parser, err := kong.New(&flags, append(parserOptions(), kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(exitParse{c}) }))...)
	if err != nil {
		fmt.Fprintf(stderr, "swarmctl: %v\n", err)
		return 2
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exitParse)
			if !ok {
				panic(r)
			}
			code = e.code
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		parser.Errorf("%v", err)
		return 2
	}
	a, err := newAPI(flags.HTTP, flags.Timeout, flags.LeaderWait)
	if err == nil {
		err = dispatch(ctx, kctx.Command(), flags, a, term{in: stdin, out: stdout, err: stderr})
	}
	if err != nil {
		fmt.Fprintf(stderr, "swarmctl: %v\n", err)
		return 1
	}
	return 0
}

// dispatch runs the command kong selected.
func dispatch(ctx context.Context, cmd string, f clientconf.CtlFlags, a *api, t term) error {
	out := t.out
	switch cmd {
	case "status":
		return status(ctx, a, f.JSON, out)
	case "dest ls":
		return destinations(ctx, a, f.JSON, out, t.err)
	case "dest info <name>":
		return show(ctx, a, atLeader(destPath(f.Dest.Info.Name)), f.JSON, out, printDestination)
	case "group ls <dest>":
		return show(ctx, a, atLeader(groupPath(f.Group.Ls.Dest, "")), f.JSON, out, printGroups)
	case "group info <dest> <group>":
		return show(ctx, a, atLeader(groupPath(f.Group.Info.Dest, f.Group.Info.Group)), f.JSON, out, printGroup)
	}
	return dispatchWrite(ctx, cmd, f, a, t)
}

// show gets path into a T and prints it: the node's JSON as it came with
// asJSON, else as print renders it.
func show[T any](ctx context.Context, a *api, path string, asJSON bool, out io.Writer, print func(io.Writer, T) error) error {
	var v T
	body, err := a.get(ctx, path, &v)
	if err != nil {
		return err
	}
	if asJSON {
		_, err = out.Write(body)
		return err
	}
	return print(out, v)
}
