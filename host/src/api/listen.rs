//! The connection loop under the router: HTTP/1.1 with a header read timeout (a client that
//! never finishes its request head, or idles between requests, is disconnected), a deadline
//! for reading a request body (checked by the body extractors: 408 `RequestTimeout`), and a
//! cap on open connections per client address (over it a connection gets 429 and is
//! closed). `axum::serve` offers none of these; ~20,000 idle connections once made every
//! legitimate request time out. Requests hyper refuses itself (a request line over 64 KiB,
//! oversized or malformed headers) get the API's JSON error shape instead of an empty body.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

/// Connection limits of the HTTP server (`serve` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    /// A request head (request line and headers) must arrive within this, counted from
    /// when the connection is ready for it (so an idle keep-alive connection is closed too).
    pub header_timeout: Duration,
    /// A request body must arrive within this, counted from its head.
    pub body_timeout: Duration,
    /// Open connections one client address may hold (0: no limit).
    pub max_connections_per_client: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_connections_per_client: 512,
        }
    }
}

/// When the current request's body must have arrived (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct BodyDeadline(pub Instant);

/// Open connections per client address.
#[derive(Clone, Default)]
struct Clients(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One open connection counted against its address; uncounted on drop.
struct ClientSlot {
    clients: Clients,
    ip: IpAddr,
}

impl Clients {
    fn take(&self, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.clients.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and
/// waits for open connections to finish their in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Dropping the receiver tells every connection to shut down gracefully.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    // Each connection holds a receiver; all dropped = all connections closed.
    let (close_tx, close_rx) = watch::channel(());
    let clients = Clients::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    eprintln!("stepwasm: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = signal_tx.closed() => break,
        };
        let Some(slot) = clients.take(peer.ip(), options.max_connections_per_client) else {
            tokio::spawn(refuse(stream, peer, options.max_connections_per_client));
            continue;
        };
        let router = router.clone();
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            connection(stream, router, options, &signal_tx).await;
            drop(slot);
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
    Ok(())
}

/// Serves one connection until it closes, times out or the server shuts down.
async fn connection(
    stream: TcpStream,
    router: Router,
    options: ServeOptions,
    signal: &watch::Sender<()>,
) {
    let body_timeout = options.body_timeout;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req: Request = req.map(Body::new);
        req.extensions_mut()
            .insert(BodyDeadline(Instant::now() + body_timeout));
        let router = router.clone();
        async move { Ok::<_, Infallible>(router.oneshot(req).await.unwrap_or_else(|e| match e {})) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    let io = TokioIo::new(JsonErrors {
        inner: stream,
        pending: None,
    });
    let mut conn = pin!(builder.serve_connection(io, service));
    // Timeouts and client errors end the connection; nothing to report.
    tokio::select! {
        _ = conn.as_mut() => return,
        () = signal.closed() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// Answers a connection over its address's limit with 429 and closes it.
async fn refuse(mut stream: TcpStream, peer: SocketAddr, limit: usize) {
    let body = serde_json::json!({
        "error": "ThrottlingException",
        "message": format!(
            "{} already has {limit} open connections, the most one client address may hold",
            peer.ip()
        ),
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    // A client that does not read gets dropped rather than holding a task.
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// The connection's stream, with hyper's own error responses (status 400, 414 or 431 and
/// an empty body: the router always answers with a JSON body) rewritten into the API's JSON
/// error shape. hyper closes the connection after them, so the lengths may differ.
struct JsonErrors {
    inner: TcpStream,
    /// A rewritten response still being written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

/// The JSON response replacing hyper's empty-bodied error response `head`, if it is one.
fn json_error_for(head: &[u8]) -> Option<Vec<u8>> {
    let status = head.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
    let (code, message) = match status {
        b"400" => ("MalformedRequest", "the request is not valid HTTP/1.1"),
        b"414" => (
            "UriTooLong",
            "the request line is longer than the server accepts",
        ),
        b"431" => (
            "RequestHeaderFieldsTooLarge",
            "the request headers are larger than the server accepts",
        ),
        _ => return None,
    };
    let text = String::from_utf8_lossy(head);
    if !text
        .to_ascii_lowercase()
        .contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let reason = text
        .lines()
        .next()
        .and_then(|l| l.get(13..))
        .unwrap_or("")
        .trim();
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    Some(
        format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            String::from_utf8_lossy(status),
            reason,
            body.len()
        )
        .into_bytes(),
    )
}

impl JsonErrors {
    /// Writes what is left of a rewritten response.
    fn drain(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        while let Some((bytes, done)) = &mut self.pending {
            if *done == bytes.len() {
                self.pending = None;
                break;
            }
            match std::pin::Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *done += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncRead for JsonErrors {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for JsonErrors {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        match self.drain(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if let Some(json) = json_error_for(buf) {
            self.pending = Some((json, 0));
            // Taken whole: the rest is written by later calls (flush, shutdown).
            if let Poll::Ready(Err(e)) = self.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::json_error_for;

    #[test]
    fn only_hypers_empty_error_responses_are_rewritten() {
        let hyper = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let json = String::from_utf8(json_error_for(hyper).unwrap()).unwrap();
        assert!(json.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{json}");
        assert!(json.ends_with(r#"{"error":"UriTooLong","message":"the request line is longer than the server accepts"}"#));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n";
        assert!(json_error_for(ours).is_none());
        assert!(json_error_for(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
