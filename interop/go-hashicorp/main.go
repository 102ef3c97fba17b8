// Command go-hashicorp is an interop peer built on github.com/hashicorp/yamux.
//
// hashicorp/yamux v0.1.2 has no way to reset a stream: Stream.Close is a
// half close (FIN) and there is no Reset. The `reset` command therefore
// sends FIN (Close) and the remote sees a clean EOF. The library only emits
// RST on its own: for inbound streams after a local GoAway, when the accept
// backlog is full, and StreamCloseTimeout (5 min) after a half close that
// the remote never answered.
package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/hashicorp/yamux"

	"yamux-interop/internal/cmdproto"
)

type stream struct{ *yamux.Stream }

// CloseWrite is a half close: hashicorp's Close only sends FIN and keeps
// the read side open until the remote FINs too.
func (s stream) CloseWrite() error { return s.Stream.Close() }

// Reset has no counterpart in hashicorp/yamux v0.1.2; FIN is the closest.
func (s stream) Reset() error { return s.Stream.Close() }

type session struct{ *yamux.Session }

func (s session) OpenStream(ctx context.Context) (cmdproto.Stream, error) {
	st, err := s.Session.OpenStream()
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

// GoAway sends GoAway(0); the session keeps running, existing streams keep
// working and new inbound streams are refused with RST.
func (s session) GoAway() error { return s.Session.GoAway() }

func newSession(conn net.Conn, server bool) (cmdproto.RawSession, error) {
	cfg := yamux.DefaultConfig() // keep-alive is on by default (30 s)
	cfg.EnableKeepAlive = true
	cfg.LogOutput = os.Stderr
	var s *yamux.Session
	var err error
	if server {
		s, err = yamux.Server(conn, cfg)
	} else {
		s, err = yamux.Client(conn, cfg)
	}
	if err != nil {
		return nil, err
	}
	return session{s}, nil
}

func isReset(err error) bool {
	return errors.Is(err, yamux.ErrConnectionReset)
}

var _ io.Reader = stream{}

func main() {
	h := &cmdproto.Handler{Name: "go-hashicorp", IsReset: isReset}
	cmdproto.RunRaw("go-hashicorp", os.Args[1:], newSession, h)
}
