//! Interop peer built on the `yamux` crate (0.13) with its default `Config`,
//! running on tokio through tokio-util's futures compat layer.
//!
//! Library facts this peer relies on (read from yamux 0.13 source):
//! - A `Stream` has no reset method. Dropping it while it is still open in
//!   both directions sends RST; dropping it after the remote's FIN sends FIN.
//! - A remote RST makes reads return `Ok(0)` just like a FIN does; the two are
//!   told apart by the stream state (`is_closed()` is true only after RST,
//!   connection loss, or both FINs).
//! - There is no public ping API (the connection pings on its own to measure
//!   RTT, but does not expose it), so `ping` answers `unsupported`.
//! - `Connection::poll_close` sends GoAway(0) and then closes the socket, so
//!   `goaway` ends the whole session.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use futures::future::poll_fn;
use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::compat::TokioAsyncReadCompatExt;
use yamux::{Config, Connection, ConnectionError, Mode, Stream};

static RESETS: AtomicU64 = AtomicU64::new(0);
static EOFS: AtomicU64 = AtomicU64::new(0);
static FIN_FIRST_BYTES: AtomicU64 = AtomicU64::new(0);
static STREAMS: AtomicU64 = AtomicU64::new(0);

const CHUNK: usize = 64 * 1024;

/// Requests from stream handlers to the task that owns the `Connection`.
enum Ctl {
    Open(oneshot::Sender<Result<Stream, ConnectionError>>),
    Close,
}

/// Cheap handle handed to every stream handler.
#[derive(Clone)]
struct Session {
    ctl: mpsc::UnboundedSender<Ctl>,
}

impl Session {
    async fn open(&self) -> Result<Stream, String> {
        let (tx, rx) = oneshot::channel();
        self.ctl
            .send(Ctl::Open(tx))
            .map_err(|_| "session is gone".to_string())?;
        match rx.await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(format!("open stream: {e}")),
            Err(_) => Err("session is gone".to_string()),
        }
    }

    fn goaway(&self) {
        let _ = self.ctl.send(Ctl::Close);
    }
}

/// Drive one yamux connection until it ends, spawning a handler task for
/// every inbound stream.
async fn run_session(tcp: TcpStream, mode: Mode) {
    let _ = tcp.set_nodelay(true);
    let mut conn = Connection::new(tcp.compat(), Config::default(), mode);
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel::<Ctl>();
    let session = Session { ctl: ctl_tx };
    let mut pending_opens: VecDeque<oneshot::Sender<Result<Stream, ConnectionError>>> =
        VecDeque::new();
    let mut closing = false;

    let result: Result<(), ConnectionError> = poll_fn(|cx| {
        loop {
            while let Poll::Ready(Some(msg)) = ctl_rx.poll_recv(cx) {
                match msg {
                    Ctl::Open(tx) => pending_opens.push_back(tx),
                    Ctl::Close => closing = true,
                }
            }
            if closing {
                for tx in pending_opens.drain(..) {
                    let _ = tx.send(Err(ConnectionError::Closed));
                }
                return conn.poll_close(cx);
            }
            while !pending_opens.is_empty() {
                match conn.poll_new_outbound(cx) {
                    Poll::Ready(r) => {
                        let tx = pending_opens.pop_front().unwrap();
                        let _ = tx.send(r);
                    }
                    Poll::Pending => break,
                }
            }
            match conn.poll_next_inbound(cx) {
                Poll::Ready(Some(Ok(stream))) => {
                    let s = session.clone();
                    tokio::spawn(serve(s, stream));
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
    match result {
        Ok(()) => eprintln!("[rust-yamux] session ended"),
        Err(e) => eprintln!("[rust-yamux] session ended: {e}"),
    }
}

fn fill_pattern(buf: &mut [u8], off: u64) {
    let mut v = (off % 251) as u8;
    for b in buf.iter_mut() {
        *b = v;
        v = if v == 250 { 0 } else { v + 1 };
    }
}

async fn write_pattern<W: futures::io::AsyncWrite + Unpin>(w: &mut W, n: u64) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0u64;
    while off < n {
        let k = std::cmp::min(CHUNK as u64, n - off) as usize;
        fill_pattern(&mut buf[..k], off);
        w.write_all(&buf[..k]).await?;
        off += k as u64;
    }
    Ok(())
}

/// Write `msg` and half-close.
async fn reply(s: &mut BufReader<Stream>, msg: &str) {
    if let Err(e) = s.write_all(msg.as_bytes()).await {
        eprintln!("[rust-yamux] writing reply: {e}");
    }
    if let Err(e) = s.close().await {
        eprintln!("[rust-yamux] close: {e}");
    }
}

fn parse_args(fields: &[&str], want: usize) -> Result<Vec<u64>, String> {
    if fields.len() != want + 1 {
        return Err(format!("{} needs {want} argument(s)", fields[0]));
    }
    fields[1..]
        .iter()
        .map(|f| f.parse::<u64>().map_err(|_| format!("bad number {f:?}")))
        .collect()
}

async fn serve(session: Session, stream: Stream) {
    STREAMS.fetch_add(1, Ordering::SeqCst);
    // BufReader keeps whatever follows the command line for the body.
    let mut s = BufReader::with_capacity(CHUNK, stream);
    let mut line = String::new();
    match s.read_line(&mut line).await {
        Ok(0) => {
            eprintln!("[rust-yamux] stream ended before a command line");
            let _ = s.close().await;
            return;
        }
        Ok(_) if !line.ends_with('\n') => {
            eprintln!("[rust-yamux] command line without newline: {line:?}");
            reply(&mut s, "err unknown command\n").await;
            return;
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("[rust-yamux] reading command line: {e}");
            return; // dropping the stream resets it
        }
    }
    let fields: Vec<&str> = line.split_whitespace().collect();
    let cmd = fields.first().copied().unwrap_or("");
    match cmd {
        "echo" => echo(s).await,
        "sink" => sink(s).await,
        "source" => match parse_args(&fields, 1) {
            Ok(n) => source(s, n[0]).await,
            Err(e) => reply(&mut s, &format!("err {e}\n")).await,
        },
        "open" => match parse_args(&fields, 2) {
            Ok(n) => open(session, s, n[0], n[1]).await,
            Err(e) => reply(&mut s, &format!("err {e}\n")).await,
        },
        // Dropping an open stream makes the connection send RST.
        "reset" => drop(s),
        "expect-reset" => expect_reset(s).await,
        "fin-first" => fin_first(s).await,
        "stats" => {
            let msg = format!(
                "{{\"resets\":{},\"eofs\":{},\"finFirstBytes\":{},\"streams\":{}}}\n",
                RESETS.load(Ordering::SeqCst),
                EOFS.load(Ordering::SeqCst),
                FIN_FIRST_BYTES.load(Ordering::SeqCst),
                STREAMS.load(Ordering::SeqCst)
            );
            reply(&mut s, &msg).await;
        }
        "ping" => reply(&mut s, "unsupported\n").await,
        "goaway" => {
            reply(&mut s, "ok\n").await;
            drop(s);
            // poll_close flushes the queued stream frames, sends
            // GoAway(0) and closes the socket.
            session.goaway();
        }
        _ => reply(&mut s, "err unknown command\n").await,
    }
}

async fn echo(mut s: BufReader<Stream>) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = s.get_mut().write_all(&buf[..n]).await {
                    eprintln!("[rust-yamux] echo write: {e}");
                    return;
                }
            }
            Err(e) => {
                eprintln!("[rust-yamux] echo read: {e}");
                return;
            }
        }
    }
    if s.get_ref().is_closed() {
        // RST (or connection loss) looks like EOF on read; do not answer.
        eprintln!("[rust-yamux] echo: stream was reset");
        return;
    }
    if let Err(e) = s.close().await {
        eprintln!("[rust-yamux] echo close: {e}");
    }
}

async fn sink(mut s: BufReader<Stream>) {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut count = 0u64;
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                count += n as u64;
            }
            Err(e) => {
                eprintln!("[rust-yamux] sink read: {e}");
                reply(&mut s, &format!("err {e}\n")).await;
                return;
            }
        }
    }
    let digest = hex::encode(hasher.finalize());
    reply(&mut s, &format!("{count} {digest}\n")).await;
}

async fn source(mut s: BufReader<Stream>, n: u64) {
    // Whatever the remote sends is ignored (left unread).
    if let Err(e) = write_pattern(s.get_mut(), n).await {
        eprintln!("[rust-yamux] source write: {e}");
        return;
    }
    if let Err(e) = s.close().await {
        eprintln!("[rust-yamux] source close: {e}");
    }
}

async fn open_one(session: Session, n: u64) -> Result<(), String> {
    let mut st = session.open().await?;
    write_pattern(&mut st, n)
        .await
        .map_err(|e| format!("write: {e}"))?;
    st.close().await.map_err(|e| format!("close: {e}"))?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        match st.read(&mut buf).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

async fn open(session: Session, mut s: BufReader<Stream>, k: u64, n: u64) {
    let tasks: Vec<_> = (0..k)
        .map(|_| tokio::spawn(open_one(session.clone(), n)))
        .collect();
    let mut first_err: Option<String> = None;
    for t in tasks {
        let r = match t.await {
            Ok(r) => r,
            Err(e) => Err(format!("task: {e}")),
        };
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    match first_err {
        None => reply(&mut s, &format!("ok {k}\n")).await,
        Some(e) => {
            eprintln!("[rust-yamux] open: {e}");
            reply(&mut s, &format!("err {}\n", e.replace('\n', " "))).await;
        }
    }
}

async fn expect_reset(mut s: BufReader<Stream>) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("[rust-yamux] expect-reset read error: {e}");
                RESETS.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    }
    if s.get_ref().is_closed() {
        // We never closed our side, so Closed means RST (or connection loss).
        RESETS.fetch_add(1, Ordering::SeqCst);
    } else {
        EOFS.fetch_add(1, Ordering::SeqCst);
        let _ = s.close().await;
    }
}

async fn fin_first(mut s: BufReader<Stream>) {
    if let Err(e) = s.close().await {
        eprintln!("[rust-yamux] fin-first close: {e}");
    }
    let mut buf = vec![0u8; CHUNK];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                FIN_FIRST_BYTES.fetch_add(n as u64, Ordering::SeqCst);
            }
            Err(e) => {
                eprintln!("[rust-yamux] fin-first read: {e}");
                break;
            }
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: rust-yamux listen <host:port> | rust-yamux dial <host:port>");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        usage();
    }
    match args[0].as_str() {
        "listen" => {
            let ln = match TcpListener::bind(&args[1]).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("[rust-yamux] listen: {e}");
                    std::process::exit(1);
                }
            };
            let port = ln.local_addr().map(|a| a.port()).unwrap_or(0);
            {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "READY {port}");
                let _ = out.flush();
            }
            loop {
                match ln.accept().await {
                    Ok((tcp, _)) => {
                        tokio::spawn(run_session(tcp, Mode::Server));
                    }
                    Err(e) => eprintln!("[rust-yamux] accept: {e}"),
                }
            }
        }
        "dial" => {
            let tcp = match TcpStream::connect(&args[1]).await {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("[rust-yamux] dial: {e}");
                    std::process::exit(1);
                }
            };
            run_session(tcp, Mode::Client).await;
            std::process::exit(0);
        }
        _ => usage(),
    }
}
