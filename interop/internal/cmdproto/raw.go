package cmdproto

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// RawSession is a yamux session straight over TCP.
type RawSession interface {
	Session
	// Accept waits for the next inbound stream.
	Accept() (Stream, error)
	// Close tears the session down.
	Close() error
}

// NewRawSession wraps a TCP connection in a yamux session; server selects
// the yamux role.
type NewRawSession func(conn net.Conn, server bool) (RawSession, error)

// Usage prints the raw peer command line and exits 2.
func Usage(name string, extra string) {
	fmt.Fprintf(os.Stderr, "usage: %s listen <host:port> | %s dial <host:port>%s\n", name, name, extra)
	os.Exit(2)
}

// RunRaw implements the `listen` and `dial` modes of a raw yamux peer and
// never returns.
func RunRaw(name string, args []string, newSession NewRawSession, h *Handler) {
	if len(args) != 2 {
		Usage(name, "")
	}
	switch args[0] {
	case "listen":
		ln, err := net.Listen("tcp", args[1])
		if err != nil {
			Logf("[%s] listen: %v", name, err)
			os.Exit(1)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		// Stdout is unbuffered in Go: one write, flushed at once.
		if _, err := os.Stdout.WriteString("READY " + strconv.Itoa(port) + "\n"); err != nil {
			os.Exit(1)
		}
		for {
			conn, err := ln.Accept()
			if err != nil {
				Logf("[%s] accept: %v", name, err)
				continue
			}
			go func() {
				sess, err := newSession(conn, true)
				if err != nil {
					Logf("[%s] new server session: %v", name, err)
					conn.Close()
					return
				}
				ServeSession(sess, h)
			}()
		}
	case "dial":
		conn, err := net.Dial("tcp", args[1])
		if err != nil {
			Logf("[%s] dial: %v", name, err)
			os.Exit(1)
		}
		sess, err := newSession(conn, false)
		if err != nil {
			Logf("[%s] new client session: %v", name, err)
			os.Exit(1)
		}
		ServeSession(sess, h)
		os.Exit(0)
	default:
		Usage(name, "")
	}
}

// ServeSession accepts inbound streams until the session ends, serving each
// in its own goroutine.
func ServeSession(sess RawSession, h *Handler) {
	defer sess.Close()
	for {
		st, err := sess.Accept()
		if err != nil {
			Logf("[%s] session ended: %v", h.Name, err)
			return
		}
		go h.Serve(sess, st)
	}
}
