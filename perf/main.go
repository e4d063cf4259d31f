package perf

import (
	"context"
	"fmt"
	"io"
)

// RunAndReport runs cfg against t (see Run), writes the table to stdout,
// the result files to cfg.Out (if set), and progress to stderr. It is what
// swarmbench and natsbench do after building their target; the caller
// closes t.
func RunAndReport(ctx context.Context, cfg Config, t Target, stdout, stderr io.Writer) error {
	cfg.EnsureDefaults()
	rep, err := Run(ctx, cfg, t, stderr)
	if len(rep.Results) > 0 {
		if terr := WriteTable(stdout, rep); terr != nil && err == nil {
			err = terr
		}
		if cfg.Out != "" {
			files, werr := rep.WriteFiles(cfg.Out, cfg.Name)
			for _, f := range files {
				fmt.Fprintln(stderr, "wrote", f)
			}
			if werr != nil && err == nil {
				err = werr
			}
		}
	}
	return err
}
