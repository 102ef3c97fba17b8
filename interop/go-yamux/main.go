// Command go-yamux is an interop peer built on github.com/libp2p/go-yamux/v5,
// configured the way go-libp2p configures it. Besides `listen` and `dial`
// it has `drive` / `drive-listen` modes that run the command protocol checks
// against another peer (see drive.go).
package main

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"time"

	"github.com/libp2p/go-yamux/v5"

	"yamux-interop/internal/cmdproto"
)

// config mirrors go-libp2p's p2p/muxer/yamux/transport.go.
func config() *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.MaxStreamWindowSize = uint32(16 * 1024 * 1024)
	cfg.LogOutput = io.Discard
	cfg.ReadBufSize = 0
	cfg.MaxIncomingStreams = math.MaxUint32
	return cfg
}

type stream struct{ *yamux.Stream }

type session struct{ *yamux.Session }

func (s session) OpenStream(ctx context.Context) (cmdproto.Stream, error) {
	st, err := s.Session.OpenStream(ctx)
	if err != nil {
		return nil, err
	}
	return stream{st}, nil
}

func (s session) Accept() (cmdproto.Stream, error) {
	st, err := s.Session.AcceptStream()
	if err != nil {
		return nil, err
	}
	return stream{st}, nil
}

func (s session) Ping() (time.Duration, error) { return s.Session.Ping() }

// GoAway sends GoAway(0) without closing the connection; existing streams
// keep working and new inbound streams are refused with RST.
func (s session) GoAway() error { return s.Session.GoAway() }

func newSession(conn net.Conn, server bool) (cmdproto.RawSession, error) {
	var s *yamux.Session
	var err error
	if server {
		s, err = yamux.Server(conn, config(), nil)
	} else {
		s, err = yamux.Client(conn, config(), nil)
	}
	if err != nil {
		return nil, err
	}
	return session{s}, nil
}

func isReset(err error) bool { return errors.Is(err, yamux.ErrStreamReset) }

func main() {
	args := os.Args[1:]
	if len(args) >= 1 && (args[0] == "drive" || args[0] == "drive-listen") {
		os.Exit(drive(args[0], args[1:]))
	}
	if len(args) == 0 {
		cmdproto.Usage("go-yamux", " | go-yamux drive|drive-listen [-allow-eof-reset] <host:port>")
	}
	h := &cmdproto.Handler{Name: "go-yamux", IsReset: isReset}
	cmdproto.RunRaw("go-yamux", args, newSession, h)
}
