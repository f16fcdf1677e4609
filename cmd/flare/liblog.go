package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"
)

// routeLibraryLogs sends what the libraries Flare uses write on their own
// through Flare's slog handler, so that --log-format json holds for every
// line the gateway prints and --log-level filters them too.
//
// go-redis and telegram-bot-api each keep their logger in a process-wide
// variable (redis.SetLogger, tgbotapi.SetLogger): that is those libraries'
// design, not a choice of ours, so it is set here, once, by the command
// that owns the process. The standard library's log package (which
// anything else would fall back to) goes the same way through
// slog.SetDefault. bine's tor output is already taken by the onion
// channel's own writer.
func routeLibraryLogs(log *slog.Logger) {
	redis.SetLogger(redisLogger{log.With("component", "redis")})
	tgbotapi.SetLogger(botLogger{log.With("component", "telegram-bot-api")})
	slog.SetDefault(log)
}

// redisLogger receives go-redis's lines: connection trouble, at WARN.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(context.WithoutCancel(ctx), strings.TrimSpace(fmt.Sprintf(format, v...)))
}

// botLogger receives telegram-bot-api's lines.
type botLogger struct{ log *slog.Logger }

func (l botLogger) Println(v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintln(v...)))
}

func (l botLogger) Printf(format string, v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)))
}
