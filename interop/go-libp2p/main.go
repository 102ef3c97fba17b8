// Command go-libp2p is an interop peer built on a go-libp2p host limited to
// TCP + noise + yamux. It speaks the interop command protocol on the libp2p
// protocol /interop/cmd/1.0.0.
//
//	go-libp2p listen           listen on /ip4/127.0.0.1/tcp/0, print READY <multiaddr/p2p/id>
//	go-libp2p dial <maddr>     connect, serve until the connection closes, exit 0
//	go-libp2p drive <maddr>    connect and run the command checks against the peer
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	lpyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-yamux/v5"
	ma "github.com/multiformats/go-multiaddr"

	"yamux-interop/internal/cmdproto"
	"yamux-interop/internal/driver"
)

// Protocol is the libp2p protocol id of the command protocol.
const Protocol = "/interop/cmd/1.0.0"

func newHost(listen bool) (host.Host, error) {
	opts := []libp2p.Option{
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(lpyamux.ID, lpyamux.DefaultTransport),
		// No resource limits, so stress tests are not throttled.
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.ConnectionManager(connmgr.NullConnMgr{}),
		libp2p.Ping(false),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	}
	if listen {
		opts = append(opts, libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	} else {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	return libp2p.New(opts...)
}

// session adapts the stream's connection to cmdproto.Session.
type session struct {
	h    host.Host
	conn network.Conn
}

func (s session) OpenStream(ctx context.Context) (cmdproto.Stream, error) {
	return s.h.NewStream(ctx, s.conn.RemotePeer(), Protocol)
}

func (s session) yamux() (*yamux.Session, error) {
	var ys *yamux.Session
	if !s.conn.As(&ys) {
		return nil, cmdproto.ErrUnsupported
	}
	return ys, nil
}

// Ping uses the yamux session under the libp2p connection (yamux-level
// ping, not the libp2p ping protocol, which is disabled).
func (s session) Ping() (time.Duration, error) {
	ys, err := s.yamux()
	if err != nil {
		return 0, err
	}
	return ys.Ping()
}

// GoAway sends a yamux GoAway(0) on the underlying session.
func (s session) GoAway() error {
	ys, err := s.yamux()
	if err != nil {
		return err
	}
	return ys.GoAway()
}

func isReset(err error) bool { return errors.Is(err, network.ErrReset) }

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[go-libp2p] "+format+"\n", args...)
	os.Exit(1)
}

// connect dials maddr and returns the remote peer id plus a channel closed
// once no connection to it is left.
func connect(h host.Host, maddr string) (peer.ID, <-chan struct{}) {
	addr, err := ma.NewMultiaddr(maddr)
	if err != nil {
		die("bad multiaddr %q: %v", maddr, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		die("multiaddr %q needs a /p2p/ component: %v", maddr, err)
	}
	gone := make(chan struct{})
	var once sync.Once
	h.Network().Notify(&network.NotifyBundle{
		DisconnectedF: func(n network.Network, c network.Conn) {
			if c.RemotePeer() == info.ID && n.Connectedness(info.ID) != network.Connected {
				once.Do(func() { close(gone) })
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Connect(ctx, *info); err != nil {
		die("connect: %v", err)
	}
	return info.ID, gone
}

func main() {
	args := os.Args[1:]
	if len(args) < 1 {
		usage()
	}
	handler := &cmdproto.Handler{Name: "go-libp2p", IsReset: isReset}
	switch {
	case args[0] == "listen" && len(args) == 1:
		h, err := newHost(true)
		if err != nil {
			die("new host: %v", err)
		}
		h.SetStreamHandler(Protocol, func(s network.Stream) {
			handler.Serve(session{h, s.Conn()}, s)
		})
		addrs := h.Addrs()
		if len(addrs) == 0 {
			die("no listen address")
		}
		os.Stdout.WriteString(fmt.Sprintf("READY %s/p2p/%s\n", addrs[0], h.ID()))
		select {}
	case args[0] == "dial" && len(args) == 2:
		h, err := newHost(false)
		if err != nil {
			die("new host: %v", err)
		}
		h.SetStreamHandler(Protocol, func(s network.Stream) {
			handler.Serve(session{h, s.Conn()}, s)
		})
		_, gone := connect(h, args[1])
		<-gone
		h.Close()
		os.Exit(0)
	case args[0] == "drive" && len(args) == 2:
		os.Exit(drive(args[1]))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go-libp2p listen | go-libp2p dial <multiaddr> | go-libp2p drive <multiaddr>")
	os.Exit(2)
}

// dsession adapts a libp2p host talking to one peer to driver.Session.
type dsession struct {
	h       host.Host
	pid     peer.ID
	inbound chan network.Stream
}

func (d dsession) OpenStream(ctx context.Context) (driver.Stream, error) {
	return d.h.NewStream(ctx, d.pid, Protocol)
}

func (d dsession) Accept() (driver.Stream, error) {
	s, ok := <-d.inbound
	if !ok {
		return nil, errors.New("closed")
	}
	return s, nil
}

func (d dsession) Close() error { return d.h.Close() }

func drive(maddr string) int {
	h, err := newHost(false)
	if err != nil {
		die("new host: %v", err)
	}
	inbound := make(chan network.Stream, 1024)
	h.SetStreamHandler(Protocol, func(s network.Stream) { inbound <- s })
	pid, gone := connect(h, maddr)
	return driver.Run(dsession{h, pid, inbound}, driver.Options{
		DescribeReset: func(err error) string {
			if isReset(err) {
				return err.Error()
			}
			return ""
		},
		AwaitGoAway: func() (string, error) {
			select {
			case <-gone:
				return "connection closed after the yamux GoAway (go-yamux drops the session on any GoAway)", nil
			case <-time.After(5 * time.Second):
				return "", fmt.Errorf("connection still open 5s after goaway")
			}
		},
	})
}
