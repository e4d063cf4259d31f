package netio

import (
	"context"
	"fmt"
	"log/slog"
)

// gnetLogger routes gnet's log lines to the server's slog.Logger. gnet keeps
// the last logger it was given in a package variable of its own, so with
// several Servers in one process its package-level messages go to the most
// recently started one.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) log(level slog.Level, format string, args []any) {
	if g.l.Enabled(context.Background(), level) {
		g.l.Log(context.Background(), level, "gnet: "+fmt.Sprintf(format, args...))
	}
}

func (g gnetLogger) Debugf(format string, args ...any) { g.log(slog.LevelDebug, format, args) }
func (g gnetLogger) Infof(format string, args ...any)  { g.log(slog.LevelDebug, format, args) }
func (g gnetLogger) Warnf(format string, args ...any)  { g.log(slog.LevelWarn, format, args) }
func (g gnetLogger) Errorf(format string, args ...any) { g.log(slog.LevelError, format, args) }

// Fatalf logs at error level; library code never exits the process.
func (g gnetLogger) Fatalf(format string, args ...any) { g.log(slog.LevelError, format, args) }
