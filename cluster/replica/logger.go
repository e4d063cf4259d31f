package replica

import (
	"context"
	"fmt"
	"log/slog"
)

// raftLogger routes etcd raft's log lines to slog: Debug and Info at Debug
// (elections are reported through Hooks and metrics instead), Warning at
// Warn, Error at Error. Fatal and Panic log at Error and panic, as raft
// expects them not to return. It is safe for concurrent use.
type raftLogger struct{ lg *slog.Logger }

func (r raftLogger) out(level slog.Level, msg string) {
	if r.lg.Enabled(context.Background(), level) {
		r.lg.Log(context.Background(), level, msg)
	}
}

func (r raftLogger) Debug(v ...any) { r.out(slog.LevelDebug, fmt.Sprint(v...)) }
func (r raftLogger) Debugf(format string, v ...any) {
	r.out(slog.LevelDebug, fmt.Sprintf(format, v...))
}
func (r raftLogger) Info(v ...any)                 { r.out(slog.LevelDebug, fmt.Sprint(v...)) }
func (r raftLogger) Infof(format string, v ...any) { r.out(slog.LevelDebug, fmt.Sprintf(format, v...)) }
func (r raftLogger) Warning(v ...any)              { r.out(slog.LevelWarn, fmt.Sprint(v...)) }
func (r raftLogger) Warningf(format string, v ...any) {
	r.out(slog.LevelWarn, fmt.Sprintf(format, v...))
}
func (r raftLogger) Error(v ...any) { r.out(slog.LevelError, fmt.Sprint(v...)) }
func (r raftLogger) Errorf(format string, v ...any) {
	r.out(slog.LevelError, fmt.Sprintf(format, v...))
}

func (r raftLogger) Fatal(v ...any) { r.Panic(v...) }
func (r raftLogger) Fatalf(format string, v ...any) {
	r.Panicf(format, v...)
}

func (r raftLogger) Panic(v ...any) {
	msg := fmt.Sprint(v...)
	r.out(slog.LevelError, msg)
	panic("swarmmq/replica: raft: " + msg)
}

func (r raftLogger) Panicf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	r.out(slog.LevelError, msg)
	panic("swarmmq/replica: raft: " + msg)
}
