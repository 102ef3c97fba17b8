package main

// `drive` and `drive-listen`: run the command protocol checks (package
// internal/driver) against another raw yamux peer, with this program as
// the yamux client (drive: it dials a listening peer) or server
// (drive-listen: it accepts one connection from a dialing peer).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/libp2p/go-yamux/v5"

	"yamux-interop/internal/driver"
)

type dsession struct{ *yamux.Session }

func (s dsession) OpenStream(ctx context.Context) (driver.Stream, error) {
	return s.Session.OpenStream(ctx)
}

func (s dsession) Accept() (driver.Stream, error) { return s.Session.AcceptStream() }

func describeReset(err error) string {
	var se *yamux.StreamError
	if errors.As(err, &se) {
		return fmt.Sprintf("remote=%v code=%d", se.Remote, se.ErrorCode)
	}
	if errors.Is(err, yamux.ErrStreamReset) {
		return err.Error()
	}
	return ""
}

func drive(mode string, args []string) int {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	allowEOF := fs.Bool("allow-eof-reset", false, "accept a clean EOF for the `reset` command (peer library cannot send RST)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintf(os.Stderr, "usage: go-yamux %s [-allow-eof-reset] <host:port>\n", mode)
		return 2
	}
	var conn net.Conn
	var err error
	if mode == "drive" {
		conn, err = net.DialTimeout("tcp", fs.Arg(0), 10*time.Second)
	} else {
		var ln net.Listener
		ln, err = net.Listen("tcp", fs.Arg(0))
		if err == nil {
			os.Stdout.WriteString("READY " + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "\n")
			ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
			conn, err = ln.Accept()
			ln.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", mode, err)
		return 1
	}
	var sess *yamux.Session
	if mode == "drive" {
		sess, err = yamux.Client(conn, config(), nil)
	} else {
		sess, err = yamux.Server(conn, config(), nil)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: session: %v\n", mode, err)
		return 1
	}
	return driver.Run(dsession{sess}, driver.Options{
		AllowEOFReset: *allowEOF,
		DescribeReset: describeReset,
		AwaitGoAway: func() (string, error) {
			select {
			case <-sess.CloseChan():
			case <-time.After(5 * time.Second):
				return "", fmt.Errorf("no GoAway/close observed within 5s")
			}
			// A closed session reports why it closed from OpenStream.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, oerr := sess.OpenStream(ctx)
			var ga *yamux.GoAwayError
			if !errors.As(oerr, &ga) || !ga.Remote || ga.ErrorCode != 0 {
				return "", fmt.Errorf("session ended without GoAway(0): %v", oerr)
			}
			return "received GoAway(0); the go-yamux driver then drops its session", nil
		},
	})
}
