//! The `/tally/sync/1` stream codec: a u32 big-endian length prefix, then one prost-encoded
//! `SyncRequest` or `SyncResponse`. The length is checked against a bound before any buffer grows.
//!
//! A request that cannot be read as one (too long, cut short, undecodable) is not a stream error:
//! it reaches the service as [`RequestFrame::Malformed`], which answers it with a `SyncError`,
//! so the peer learns why instead of seeing its stream dropped.

use std::io;

use bytes::Bytes;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{StreamProtocol, request_response};
use prost::Message;
use tally_proto::v1::{SyncRequest, SyncResponse};

pub(crate) const PROTOCOL: StreamProtocol = StreamProtocol::new("/tally/sync/1");

/// Requests name an authority and two numbers; 4 KiB is generous and keeps
/// an unanswered request from costing anything.
pub(crate) const MAX_REQUEST_BYTES: usize = 4096;

/// Buffer grown per read so that memory follows the bytes that actually arrive,
/// not the length a peer claims.
const READ_CHUNK: usize = 64 * 1024;

/// A request as read from a peer's stream. Either way the stream is still
/// open for writing, so the service answers both.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RequestFrame {
    Decoded(SyncRequest),
    /// Why the bytes were not a request; sent back in the `SyncError`.
    Malformed(String),
}

#[derive(Debug, Clone)]
pub(crate) struct SyncCodec {
    /// Largest response frame accepted from a peer or written to one.
    pub max_response_bytes: usize,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Reads one length-prefixed frame of at most `max` bytes.
pub(crate) async fn read_frame<T>(io: &mut T, max: usize) -> io::Result<Bytes>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = usize::try_from(u32::from_be_bytes(prefix))
        .map_err(|_| invalid("frame length does not fit in memory".to_owned()))?;
    if len > max {
        return Err(invalid(format!(
            "frame of {len} bytes exceeds the bound of {max}"
        )));
    }
    let mut buf = Vec::with_capacity(len.min(READ_CHUNK));
    io.take(len as u64).read_to_end(&mut buf).await?;
    if buf.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("frame ended after {} of {len} bytes", buf.len()),
        ));
    }
    Ok(Bytes::from(buf))
}

/// Writes `message` as one length-prefixed frame, refusing to exceed `max`.
pub(crate) async fn write_frame<T, M>(io: &mut T, message: &M, max: usize) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
    M: Message,
{
    let len = message.encoded_len();
    let prefix = u32::try_from(len)
        .ok()
        .filter(|_| len <= max)
        .ok_or_else(|| invalid(format!("frame of {len} bytes exceeds the bound of {max}")))?;
    let mut buf = Vec::with_capacity(4 + len);
    buf.extend_from_slice(&prefix.to_be_bytes());
    message
        .encode(&mut buf)
        .map_err(|e| invalid(e.to_string()))?;
    io.write_all(&buf).await
}

fn decode<M: Message + Default>(frame: Bytes) -> io::Result<M> {
    M::decode(frame).map_err(|e| invalid(format!("undecodable frame: {e}")))
}

/// Reads one request. Bad bytes (over the bound, cut short, undecodable) are
/// a [`RequestFrame::Malformed`]; only a failing stream is an error.
pub(crate) async fn read_request_frame<T>(io: &mut T) -> io::Result<RequestFrame>
where
    T: AsyncRead + Unpin + Send,
{
    let read = read_frame(io, MAX_REQUEST_BYTES)
        .await
        .and_then(decode::<SyncRequest>);
    match read {
        Ok(request) => Ok(RequestFrame::Decoded(request)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Ok(RequestFrame::Malformed(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = RequestFrame;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<RequestFrame>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_request_frame(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(read_frame(io, self.max_response_bytes).await?)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: RequestFrame,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match request {
            RequestFrame::Decoded(request) => write_frame(io, &request, MAX_REQUEST_BYTES).await,
            RequestFrame::Malformed(_) => {
                Err(invalid("a malformed request is never sent".to_owned()))
            }
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response, self.max_response_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use futures::io::Cursor;
    use tally_proto::v1::{HeadsRequest, sync_request};

    use super::*;

    fn heads_request() -> SyncRequest {
        SyncRequest {
            kind: Some(sync_request::Kind::Heads(HeadsRequest {})),
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut wire = Cursor::new(Vec::new());
        block_on(write_frame(&mut wire, &heads_request(), 100)).expect("fits");
        let mut read = Cursor::new(wire.into_inner());
        let frame = block_on(read_frame(&mut read, 100)).expect("reads back");
        assert_eq!(
            decode::<SyncRequest>(frame).expect("decodes"),
            heads_request()
        );
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let huge = u32::MAX.to_be_bytes().to_vec();
        let mut short = 10u32.to_be_bytes().to_vec();
        short.extend_from_slice(b"abc");
        let mut garbage = 3u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(&[0xff, 0xff, 0xff]);
        let cases: [(&str, Vec<u8>, io::ErrorKind); 4] = [
            ("oversized", huge, io::ErrorKind::InvalidData),
            ("truncated", short, io::ErrorKind::UnexpectedEof),
            ("no prefix", vec![0, 1], io::ErrorKind::UnexpectedEof),
            ("garbage", garbage, io::ErrorKind::InvalidData),
        ];
        for (name, bytes, kind) in cases {
            let mut io = Cursor::new(bytes);
            let got = block_on(async {
                let frame = read_frame(&mut io, 1024).await?;
                decode::<SyncRequest>(frame)
            });
            assert_eq!(got.expect_err(name).kind(), kind, "{name}");
        }
    }

    #[test]
    fn bad_requests_are_malformed_frames_not_stream_errors() {
        let mut garbage = 3u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(&[0xff, 0xff, 0xff]);
        let mut short = 10u32.to_be_bytes().to_vec();
        short.extend_from_slice(b"abc");
        let mut good = Cursor::new(Vec::new());
        block_on(write_frame(&mut good, &heads_request(), 100)).expect("fits");
        let cases: [(&str, Vec<u8>, Option<&str>); 5] = [
            ("good", good.into_inner(), None),
            ("garbage", garbage, Some("undecodable")),
            ("truncated", short, Some("ended after 3 of 10")),
            (
                "oversized",
                u32::MAX.to_be_bytes().to_vec(),
                Some("exceeds"),
            ),
            ("empty", vec![], Some("")),
        ];
        for (name, bytes, malformed) in cases {
            let got = block_on(read_request_frame(&mut Cursor::new(bytes))).expect(name);
            match (got, malformed) {
                (RequestFrame::Decoded(r), None) => assert_eq!(r, heads_request()),
                (RequestFrame::Malformed(why), Some(want)) => {
                    assert!(why.contains(want), "{name}: {why}")
                }
                (got, _) => panic!("{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn writer_refuses_oversized_frames() {
        let mut wire = Cursor::new(Vec::new());
        let err = block_on(write_frame(&mut wire, &heads_request(), 1)).expect_err("too big");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
