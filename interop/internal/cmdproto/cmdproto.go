// Package cmdproto implements the interop command protocol that every Go
// peer speaks on each inbound stream. The library-specific programs adapt
// their session/stream types to the small interfaces below.
package cmdproto

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stream is the subset of a multiplexed stream the protocol needs.
type Stream interface {
	io.Reader
	io.Writer
	// CloseWrite half-closes the stream (sends FIN).
	CloseWrite() error
	// Reset aborts the stream (sends RST where the library can).
	Reset() error
	// Close releases the stream completely.
	Close() error
}

// Session is the subset of a multiplexed session the protocol needs.
type Session interface {
	// OpenStream opens a new outbound stream. For libp2p this negotiates the
	// interop protocol on the new stream.
	OpenStream(ctx context.Context) (Stream, error)
	// Ping measures the round trip time; ErrUnsupported if the library
	// cannot ping.
	Ping() (time.Duration, error)
	// GoAway makes the session send GoAway(0). It is called after the
	// command stream has been answered and closed.
	GoAway() error
}

// ErrUnsupported is returned by Session methods the library lacks.
var ErrUnsupported = errors.New("unsupported")

// Counters are process wide, as the command protocol requires.
type Counters struct {
	Resets        atomic.Int64
	EOFs          atomic.Int64
	FinFirstBytes atomic.Int64
	Streams       atomic.Int64
}

// Global holds the process wide counters reported by `stats`.
var Global Counters

// Stats is the JSON shape of the `stats` reply.
type Stats struct {
	Resets        int64 `json:"resets"`
	EOFs          int64 `json:"eofs"`
	FinFirstBytes int64 `json:"finFirstBytes"`
	Streams       int64 `json:"streams"`
}

// Handler serves command streams for one library.
type Handler struct {
	// IsReset reports whether a read error means the remote reset the
	// stream (as opposed to some other failure).
	IsReset func(error) bool
	// Name is used in log lines.
	Name string
}

// Logf writes a diagnostic line to stderr.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// Pattern fills buf with the test pattern for the absolute offset off:
// byte i of a pattern stream is i % 251.
func Pattern(buf []byte, off int64) {
	v := int(off % 251)
	for i := range buf {
		buf[i] = byte(v)
		v++
		if v == 251 {
			v = 0
		}
	}
}

// ChunkSize is the largest single write the peers issue.
const ChunkSize = 64 * 1024

// WritePattern writes n pattern bytes in chunks of at most ChunkSize.
func WritePattern(w io.Writer, n int64) error {
	buf := make([]byte, ChunkSize)
	var off int64
	for off < n {
		k := int64(len(buf))
		if n-off < k {
			k = n - off
		}
		Pattern(buf[:k], off)
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		off += k
	}
	return nil
}

// readLine reads one command line byte-wise from a buffered reader; the
// reader keeps any bytes that follow for the command body.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// Serve handles one inbound stream. It blocks until the command is done.
func (h *Handler) Serve(sess Session, s Stream) {
	Global.Streams.Add(1)
	r := bufio.NewReaderSize(s, 64*1024)
	line, err := readLine(r)
	if err != nil {
		Logf("[%s] reading command line: %v", h.Name, err)
		if h.IsReset(err) {
			_ = s.Reset()
		} else {
			_ = s.CloseWrite()
		}
		return
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		h.reply(s, "err unknown command\n")
		return
	}
	switch fields[0] {
	case "echo":
		h.echo(r, s)
	case "sink":
		h.sink(r, s)
	case "source":
		n, err := parseArgs(fields, 1)
		if err != nil {
			h.reply(s, "err "+err.Error()+"\n")
			return
		}
		h.source(r, s, n[0])
	case "open":
		n, err := parseArgs(fields, 2)
		if err != nil {
			h.reply(s, "err "+err.Error()+"\n")
			return
		}
		h.open(sess, s, n[0], n[1])
	case "reset":
		if err := s.Reset(); err != nil {
			Logf("[%s] reset: %v", h.Name, err)
		}
	case "expect-reset":
		h.expectReset(r, s)
	case "fin-first":
		h.finFirst(r, s)
	case "stats":
		st := Stats{
			Resets:        Global.Resets.Load(),
			EOFs:          Global.EOFs.Load(),
			FinFirstBytes: Global.FinFirstBytes.Load(),
			Streams:       Global.Streams.Load(),
		}
		b, _ := json.Marshal(st)
		h.reply(s, string(b)+"\n")
	case "ping":
		rtt, err := sess.Ping()
		switch {
		case errors.Is(err, ErrUnsupported):
			h.reply(s, "unsupported\n")
		case err != nil:
			h.reply(s, "err "+oneLine(err)+"\n")
		default:
			h.reply(s, strconv.FormatInt(rtt.Microseconds(), 10)+"\n")
		}
	case "goaway":
		h.reply(s, "ok\n")
		if err := sess.GoAway(); err != nil {
			Logf("[%s] goaway: %v", h.Name, err)
		}
	default:
		h.reply(s, "err unknown command\n")
	}
}

func parseArgs(fields []string, want int) ([]int64, error) {
	if len(fields) != want+1 {
		return nil, fmt.Errorf("%s needs %d argument(s)", fields[0], want)
	}
	out := make([]int64, want)
	for i := range out {
		v, err := strconv.ParseInt(fields[i+1], 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad number %q", fields[i+1])
		}
		out[i] = v
	}
	return out, nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// reply writes msg then half-closes, logging failures.
func (h *Handler) reply(s Stream, msg string) {
	if _, err := io.WriteString(s, msg); err != nil {
		Logf("[%s] writing reply: %v", h.Name, err)
	}
	if err := s.CloseWrite(); err != nil {
		Logf("[%s] close write: %v", h.Name, err)
	}
}

func (h *Handler) echo(r io.Reader, s Stream) {
	buf := make([]byte, ChunkSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				Logf("[%s] echo write: %v", h.Name, werr)
				_ = s.Reset()
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			Logf("[%s] echo read: %v", h.Name, err)
			_ = s.Reset()
			return
		}
	}
	if err := s.CloseWrite(); err != nil {
		Logf("[%s] echo close write: %v", h.Name, err)
	}
}

func (h *Handler) sink(r io.Reader, s Stream) {
	hash := sha256.New()
	n, err := io.Copy(hash, r)
	if err != nil {
		Logf("[%s] sink read: %v", h.Name, err)
		h.reply(s, "err "+oneLine(err)+"\n")
		return
	}
	h.reply(s, fmt.Sprintf("%d %s\n", n, hex.EncodeToString(hash.Sum(nil))))
}

func (h *Handler) source(r io.Reader, s Stream, n int64) {
	// Ignore whatever the remote sends, but keep reading so its writes
	// never stall on flow control.
	go func() { _, _ = io.Copy(io.Discard, r) }()
	if err := WritePattern(s, n); err != nil {
		Logf("[%s] source write: %v", h.Name, err)
		_ = s.Reset()
		return
	}
	if err := s.CloseWrite(); err != nil {
		Logf("[%s] source close write: %v", h.Name, err)
	}
}

func (h *Handler) open(sess Session, s Stream, k, n int64) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := int64(0); i < k; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := openOne(sess, n); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		Logf("[%s] open: %v", h.Name, firstErr)
		h.reply(s, "err "+oneLine(firstErr)+"\n")
		return
	}
	h.reply(s, fmt.Sprintf("ok %d\n", k))
}

func openOne(sess Session, n int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := sess.OpenStream(ctx)
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	defer st.Close()
	if err := WritePattern(st, n); err != nil {
		_ = st.Reset()
		return fmt.Errorf("write: %w", err)
	}
	if err := st.CloseWrite(); err != nil {
		return fmt.Errorf("close write: %w", err)
	}
	if _, err := io.Copy(io.Discard, st); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

func (h *Handler) expectReset(r io.Reader, s Stream) {
	_, err := io.Copy(io.Discard, r)
	switch {
	case err == nil:
		Global.EOFs.Add(1)
		_ = s.CloseWrite()
	case h.IsReset(err):
		Global.Resets.Add(1)
		_ = s.Close()
	default:
		Logf("[%s] expect-reset: non-reset error: %v", h.Name, err)
		_ = s.Reset()
	}
}

func (h *Handler) finFirst(r io.Reader, s Stream) {
	if err := s.CloseWrite(); err != nil {
		Logf("[%s] fin-first close write: %v", h.Name, err)
	}
	n, err := io.Copy(io.Discard, r)
	Global.FinFirstBytes.Add(n)
	if err != nil {
		Logf("[%s] fin-first read: %v", h.Name, err)
	}
	_ = s.Close()
}
