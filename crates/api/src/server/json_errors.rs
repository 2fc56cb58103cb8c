//! hyper's own answers to requests it cannot parse, with the contract's
//! JSON error body.
//!
//! hyper answers a request head it cannot parse (a DEL or other forbidden
//! byte in a header, two different `Content-Length` headers, a request line
//! that is not HTTP) with a bare `400`, one larger than its read buffer with
//! a bare `431`, and one whose target is too long with a bare `414`, before
//! any of the node's code runs, and offers no hook to change them. Those
//! answers are recognisable on the way out: a status of 400, 414 or 431 with
//! `content-length: 0` and no `content-type`, the last thing hyper writes
//! before it closes the connection. Every answer of the node's own code
//! carries a JSON body ([`crate::ApiError`]), so nothing else looks like
//! that. [`JsonErrors`] wraps a connection's stream and writes such an
//! answer again with the body `{"error": {"code", "message"}}`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest bare answer recognised: hyper's has a status line, a
/// content-length, a date and perhaps a `connection: close`.
const MAX_BARE_ANSWER: usize = 512;

/// A connection's stream whose bare parse-error answers get a JSON body.
#[derive(Debug)]
pub(crate) struct JsonErrors<S> {
    inner: S,
    /// The rewritten answer still to be written, and how much of it went.
    pending: Vec<u8>,
    written: usize,
}

impl<S> JsonErrors<S> {
    pub(crate) fn new(inner: S) -> JsonErrors<S> {
        JsonErrors {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The JSON answer replacing `bytes` when they are exactly one bare error
/// answer of hyper's (see the module's documentation), else `None`.
pub(crate) fn rewrite(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() > MAX_BARE_ANSWER || !bytes.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(bytes).ok()?;
    let head = head.strip_suffix("\r\n\r\n")?;
    // One head only: no blank line before the end.
    if head.contains("\r\n\r\n") {
        return None;
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?;
    let (code, what, message) = match rest.get(..3)? {
        "400" => (
            "bad_request",
            "400 Bad Request",
            "the request is not well-formed HTTP (a forbidden byte in a header, \
             conflicting Content-Length headers, or an unreadable request line)",
        ),
        "414" => (
            "uri_too_long",
            "414 URI Too Long",
            "the request path is too long",
        ),
        "431" => (
            "headers_too_large",
            "431 Request Header Fields Too Large",
            "the request headers are too large",
        ),
        _ => return None,
    };
    let mut zero_length = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-type") {
            return None;
        }
        if name.eq_ignore_ascii_case("content-length") {
            if value.trim() != "0" {
                return None;
            }
            zero_length = true;
        }
    }
    if !zero_length {
        return None;
    }
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    Some(
        format!(
            "HTTP/1.1 {what}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    /// Writes what is left of a rewritten answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        if !self.pending.is_empty() {
            self.pending = Vec::new();
            self.written = 0;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `bytes` as a rewritten answer if they are a bare one: the
    /// caller reports them all written.
    fn take_bare(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let answer = rewrite(bytes)?;
        self.pending = answer;
        self.written = 0;
        // Start now; poll_flush and poll_shutdown finish it.
        if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
            return Some(Poll::Ready(Err(e)));
        }
        Some(Poll::Ready(Ok(bytes.len())))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if let Some(done) = this.take_bare(cx, buf) {
            return done;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total <= MAX_BARE_ANSWER {
            let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            if let Some(done) = this.take_bare(cx, &joined) {
                return done;
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_error_answers_are_rewritten() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 21:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(bare).expect("rewritten")).expect("utf-8");
        let (head, body) = out.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(v["error"]["code"], "bad_request");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        for (status, code) in [
            ("431 Request Header Fields Too Large", "headers_too_large"),
            ("414 URI Too Long", "uri_too_long"),
        ] {
            let bare =
                format!("HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
            let out = String::from_utf8(rewrite(bare.as_bytes()).expect(status)).expect("utf-8");
            assert!(out.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{out}");
            assert!(out.contains(&format!("\"code\":\"{code}\"")), "{out}");
        }
        for keep in [
            // The node's own answers carry a body and a content type.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 57\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{\"x\":1}",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n",
            b"",
        ] {
            assert_eq!(rewrite(keep), None, "{:?}", String::from_utf8_lossy(keep));
        }
    }
}
