// Package driver runs the interop command protocol against a peer and
// prints one PASS/FAIL line per check. It is used by `go-yamux drive`,
// `go-yamux drive-listen` and `go-libp2p drive`.
package driver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"yamux-interop/internal/cmdproto"
)

// Stream is what the driver needs from a stream: a command-protocol stream
// with a deadline.
type Stream interface {
	cmdproto.Stream
	SetDeadline(time.Time) error
}

// Session is what the driver needs from a session (or libp2p connection).
type Session interface {
	// OpenStream opens a command stream to the peer.
	OpenStream(ctx context.Context) (Stream, error)
	// Accept returns the next stream the peer opened to us (`open`).
	Accept() (Stream, error)
	Close() error
}

// Options adapt the checks to the library on each side.
type Options struct {
	// AllowEOFReset accepts a clean EOF as the answer to `reset`, for peers
	// whose library cannot send RST (hashicorp/yamux).
	AllowEOFReset bool
	// DescribeReset returns a description if err is a stream reset, or ""
	// if it is not.
	DescribeReset func(err error) string
	// AwaitGoAway is called after the peer answered `goaway`; it waits for
	// the GoAway to arrive and describes it. nil skips the goaway check.
	AwaitGoAway func() (string, error)
}

type driver struct {
	sess Session
	opt  Options

	// inbound receives the result of every stream the peer opens to us
	// (the `open` command): number of pattern bytes read, or an error.
	inbound chan inboundResult
}

type inboundResult struct {
	n   int64
	err error
}

const checkTimeout = 30 * time.Second

// Run runs every check on sess and returns the process exit code.
func Run(sess Session, opt Options) int {
	d := &driver{sess: sess, opt: opt, inbound: make(chan inboundResult, 1024)}
	go d.acceptLoop()

	type check struct {
		name string
		fn   func() (string, error)
	}
	checks := []check{
		{"echo 1KiB", func() (string, error) { return d.echo(1024) }},
		{"echo 1MiB", func() (string, error) { return d.echo(1 << 20) }},
		{"sink 1MiB sha256", func() (string, error) { return d.sink(1 << 20) }},
		{"source 10MiB", func() (string, error) { return d.source(10 << 20) }},
		{"open 10 x 100000", func() (string, error) { return d.open(10, 100000) }},
		{"32 concurrent echo 64KiB", d.concurrentEcho},
		{"unknown command", d.unknown},
		{"reset", d.reset},
		{"expect-reset", d.expectReset},
		{"fin-first", d.finFirst},
		{"stats", d.statsCheck},
		{"ping", d.ping},
	}
	if opt.AwaitGoAway != nil {
		checks = append(checks, check{"goaway", d.goaway})
	}
	passed, failed := 0, 0
	for _, c := range checks {
		start := time.Now()
		detail, err := c.fn()
		el := time.Since(start).Round(time.Millisecond)
		if err != nil {
			failed++
			fmt.Printf("FAIL %-26s %v (%v)\n", c.name, err, el)
		} else {
			passed++
			fmt.Printf("PASS %-26s %s (%v)\n", c.name, detail, el)
		}
	}
	sess.Close()
	fmt.Printf("drive: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func (d *driver) acceptLoop() {
	for {
		st, err := d.sess.Accept()
		if err != nil {
			return
		}
		go func() {
			st.SetDeadline(time.Now().Add(checkTimeout))
			n, err := verifyPattern(st)
			if err == nil {
				err = st.CloseWrite()
			} else {
				st.Reset()
			}
			d.inbound <- inboundResult{n, err}
		}()
	}
}

// verifyPattern reads to EOF, checking byte i == i % 251.
func verifyPattern(r io.Reader) (int64, error) {
	buf := make([]byte, 64*1024)
	want := make([]byte, 64*1024)
	var off int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			cmdproto.Pattern(want[:n], off)
			if !bytes.Equal(buf[:n], want[:n]) {
				return off, fmt.Errorf("pattern mismatch near offset %d", off)
			}
			off += int64(n)
		}
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}

func (d *driver) openCmd(cmd string) (Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	st, err := d.sess.OpenStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	st.SetDeadline(time.Now().Add(checkTimeout))
	if _, err := io.WriteString(st, cmd+"\n"); err != nil {
		st.Reset()
		return nil, fmt.Errorf("write command: %w", err)
	}
	return st, nil
}

// request sends a command with no body, FINs, and returns the full reply.
func (d *driver) request(cmd string) (string, error) {
	st, err := d.openCmd(cmd)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if err := st.CloseWrite(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(st)
	if err != nil {
		return string(b), fmt.Errorf("read reply: %w", err)
	}
	return string(b), nil
}

func testData(n int) []byte {
	b := make([]byte, n)
	// Deterministic but not the source pattern, so echo cannot be faked.
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func (d *driver) echo(n int) (string, error) {
	st, err := d.openCmd("echo")
	if err != nil {
		return "", err
	}
	defer st.Close()
	data := testData(n)
	werr := make(chan error, 1)
	go func() {
		_, err := st.Write(data)
		if err == nil {
			err = st.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(st)
	if err != nil {
		return "", fmt.Errorf("read: %w (after %d bytes)", err, len(got))
	}
	if err := <-werr; err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	if !bytes.Equal(got, data) {
		return "", fmt.Errorf("echo mismatch: sent %d bytes, got %d", len(data), len(got))
	}
	return fmt.Sprintf("%d bytes", n), nil
}

func (d *driver) concurrentEcho() (string, error) {
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.echo(64 * 1024); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return "", err
	}
	return "all matched", nil
}

func (d *driver) sink(n int) (string, error) {
	st, err := d.openCmd("sink")
	if err != nil {
		return "", err
	}
	defer st.Close()
	data := testData(n)
	if _, err := st.Write(data); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	if err := st.CloseWrite(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(st)
	if err != nil {
		return "", fmt.Errorf("read reply: %w", err)
	}
	sum := sha256.Sum256(data)
	want := fmt.Sprintf("%d %s\n", n, hex.EncodeToString(sum[:]))
	if string(b) != want {
		return "", fmt.Errorf("got %q, want %q", b, want)
	}
	return strings.TrimSpace(string(b))[:20] + "...", nil
}

func (d *driver) source(n int64) (string, error) {
	st, err := d.openCmd("source " + strconv.FormatInt(n, 10))
	if err != nil {
		return "", err
	}
	defer st.Close()
	if err := st.CloseWrite(); err != nil {
		return "", err
	}
	start := time.Now()
	got, err := verifyPattern(st)
	if err != nil {
		return "", err
	}
	if got != n {
		return "", fmt.Errorf("got %d bytes, want %d", got, n)
	}
	mbps := float64(n) / (1 << 20) / time.Since(start).Seconds()
	return fmt.Sprintf("%d bytes, %.0f MiB/s", n, mbps), nil
}

func (d *driver) open(k int, n int64) (string, error) {
	reply, err := d.request(fmt.Sprintf("open %d %d", k, n))
	if err != nil {
		return "", err
	}
	if reply != fmt.Sprintf("ok %d\n", k) {
		return "", fmt.Errorf("reply %q", reply)
	}
	// The peer only answers once every stream saw our FIN, so all results
	// are in (or about to be).
	for i := 0; i < k; i++ {
		select {
		case r := <-d.inbound:
			if r.err != nil {
				return "", fmt.Errorf("inbound stream: %w", r.err)
			}
			if r.n != n {
				return "", fmt.Errorf("inbound stream carried %d bytes, want %d", r.n, n)
			}
		case <-time.After(5 * time.Second):
			return "", fmt.Errorf("only %d of %d inbound streams seen", i, k)
		}
	}
	return fmt.Sprintf("%q, %d inbound streams verified", strings.TrimSpace(reply), k), nil
}

func (d *driver) unknown() (string, error) {
	reply, err := d.request("frobnicate")
	if err != nil {
		return "", err
	}
	if reply != "err unknown command\n" {
		return "", fmt.Errorf("reply %q", reply)
	}
	return strings.TrimSpace(reply), nil
}

func (d *driver) reset() (string, error) {
	st, err := d.openCmd("reset")
	if err != nil {
		return "", err
	}
	defer st.Close()
	b, err := io.ReadAll(st)
	switch {
	case err != nil && d.opt.DescribeReset(err) != "":
		return "got RST: " + d.opt.DescribeReset(err), nil
	case err == nil && d.opt.AllowEOFReset:
		return fmt.Sprintf("got clean EOF after %d bytes (peer cannot send RST; allowed)", len(b)), nil
	case err == nil:
		return "", fmt.Errorf("got clean EOF after %d bytes, want RST", len(b))
	default:
		return "", fmt.Errorf("read: %w", err)
	}
}

func (d *driver) stats() (cmdproto.Stats, error) {
	var st cmdproto.Stats
	reply, err := d.request("stats")
	if err != nil {
		return st, err
	}
	if !strings.HasSuffix(reply, "\n") || strings.Count(reply, "\n") != 1 {
		return st, fmt.Errorf("stats reply not one line: %q", reply)
	}
	dec := json.NewDecoder(strings.NewReader(reply))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, fmt.Errorf("stats %q: %w", reply, err)
	}
	return st, nil
}

// waitStats polls stats until ok(st) holds or 5 s pass.
func (d *driver) waitStats(ok func(cmdproto.Stats) bool) (cmdproto.Stats, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := d.stats()
		if err != nil {
			return st, err
		}
		if ok(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("stats never reached the expected value, last %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *driver) expectReset() (string, error) {
	before, err := d.stats()
	if err != nil {
		return "", err
	}
	st, err := d.openCmd("expect-reset")
	if err != nil {
		return "", err
	}
	// Give the peer time to read the command line: most libraries drop
	// buffered data once a stream is reset.
	time.Sleep(200 * time.Millisecond)
	if err := st.Reset(); err != nil {
		return "", err
	}
	after, err := d.waitStats(func(s cmdproto.Stats) bool { return s.Resets+s.EOFs > before.Resets+before.EOFs })
	if err != nil {
		return "", err
	}
	if after.Resets != before.Resets+1 {
		return "", fmt.Errorf("peer counted resets %d->%d eofs %d->%d", before.Resets, after.Resets, before.EOFs, after.EOFs)
	}
	return fmt.Sprintf("resets %d->%d", before.Resets, after.Resets), nil
}

func (d *driver) finFirst() (string, error) {
	const n = 100000
	before, err := d.stats()
	if err != nil {
		return "", err
	}
	st, err := d.openCmd("fin-first")
	if err != nil {
		return "", err
	}
	defer st.Close()
	// The peer FINs before reading anything: we must see EOF while our
	// own side is still open, then we can keep writing.
	b, err := io.ReadAll(st)
	if err != nil || len(b) != 0 {
		return "", fmt.Errorf("want immediate EOF, got %d bytes, err %v", len(b), err)
	}
	if _, err := st.Write(testData(n)); err != nil {
		return "", fmt.Errorf("write after remote FIN: %w", err)
	}
	if err := st.CloseWrite(); err != nil {
		return "", err
	}
	after, err := d.waitStats(func(s cmdproto.Stats) bool { return s.FinFirstBytes >= before.FinFirstBytes+n })
	if err != nil {
		return "", err
	}
	if after.FinFirstBytes != before.FinFirstBytes+n {
		return "", fmt.Errorf("finFirstBytes %d->%d, want +%d", before.FinFirstBytes, after.FinFirstBytes, n)
	}
	return fmt.Sprintf("finFirstBytes %d->%d", before.FinFirstBytes, after.FinFirstBytes), nil
}

func (d *driver) statsCheck() (string, error) {
	a, err := d.stats()
	if err != nil {
		return "", err
	}
	b, err := d.stats()
	if err != nil {
		return "", err
	}
	if b.Streams != a.Streams+1 {
		return "", fmt.Errorf("streams went %d->%d, want +1", a.Streams, b.Streams)
	}
	return fmt.Sprintf("%+v", b), nil
}

func (d *driver) ping() (string, error) {
	reply, err := d.request("ping")
	if err != nil {
		return "", err
	}
	reply = strings.TrimSuffix(reply, "\n")
	if reply == "unsupported" {
		return "peer says unsupported", nil
	}
	us, err := strconv.ParseInt(reply, 10, 64)
	if err != nil || us < 0 {
		return "", fmt.Errorf("reply %q", reply)
	}
	return fmt.Sprintf("rtt %dus", us), nil
}

// goaway: an echo stream opened before the GoAway must still work right
// before it; what happens after the GoAway is up to AwaitGoAway (go-yamux,
// the driver's library, tears its whole session down on any GoAway).
func (d *driver) goaway() (string, error) {
	pre, err := d.openCmd("echo")
	if err != nil {
		return "", err
	}
	defer pre.Close()
	br := bufio.NewReader(pre)
	if _, err := io.WriteString(pre, "before\n"); err != nil {
		return "", err
	}
	if l, err := br.ReadString('\n'); err != nil || l != "before\n" {
		return "", fmt.Errorf("pre-goaway echo: %q %v", l, err)
	}
	reply, err := d.request("goaway")
	if err != nil && reply == "" {
		return "", err
	}
	if reply != "ok\n" {
		return "", fmt.Errorf("reply %q (err %v)", reply, err)
	}
	return d.opt.AwaitGoAway()
}
