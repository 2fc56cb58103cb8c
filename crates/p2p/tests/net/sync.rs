//! Sync pull: heads and range through the node's reply, clamping, refusals, and malformed frames.

use std::time::Duration;

use bytes::Bytes;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{StreamProtocol, Swarm, noise, tcp, yamux};
use prost::Message as _;
use tally_p2p::{Error, Head, SyncAnswer, SyncQuery};
use tally_proto::v1::{HeadsRequest, SyncRequest, SyncResponse, sync_request, sync_response};

use crate::common::{Node, eventually, key, within};

async fn connected_pair(a: u8, b: u8) -> (Node, Node) {
    let (a, b) = (Node::start(a).await, Node::start(b).await);
    a.trust(&[&b]).await;
    b.trust(&[&a]).await;
    eventually("pair connected", async || a.is_connected_to(&b).await).await;
    (a, b)
}

fn head(authority: &str, seq: u64) -> Head {
    Head {
        authority: authority.to_owned(),
        seq,
        hash: vec![seq as u8; 32],
    }
}

fn entries(n: usize) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from(format!("entry {i}"))).collect()
}

#[tokio::test]
async fn heads_and_range_round_trip_through_the_node() {
    let (a, mut b) = connected_pair(31, 32).await;
    let heads = vec![head("US-DDTC", 7), head("MX-SEDENA", 3)];

    let (got, ()) = tokio::join!(a.handle.heads(b.id), async {
        let (from, query, reply) = b.next_query().await;
        assert_eq!(from, a.id);
        assert_eq!(query, SyncQuery::Heads);
        reply.send(SyncAnswer::Heads(heads.clone())).expect("reply");
    });
    assert_eq!(got.expect("heads"), heads);

    // A limit above the configured maximum (512) reaches the node clamped, and
    // extra entries from the node are cut to it.
    let (got, ()) = tokio::join!(a.handle.range(b.id, "US-DDTC".into(), 4, 10_000), async {
        let (_, query, reply) = b.next_query().await;
        let expected = SyncQuery::Range {
            authority: "US-DDTC".into(),
            from: 4,
            limit: 512,
        };
        assert_eq!(query, expected);
        reply.send(SyncAnswer::Range(entries(600))).expect("reply");
    });
    assert_eq!(got.expect("range"), entries(512));

    let (got, ()) = tokio::join!(a.handle.range(b.id, "US-DDTC".into(), 1, 2), async {
        let (_, query, reply) = b.next_query().await;
        assert!(matches!(query, SyncQuery::Range { limit: 2, .. }));
        reply.send(SyncAnswer::Range(entries(5))).expect("reply");
    });
    assert_eq!(got.expect("range"), entries(2));

    let (got, ()) = tokio::join!(a.handle.range(b.id, "XX-NONE".into(), 1, 10), async {
        let (_, _, reply) = b.next_query().await;
        reply
            .send(SyncAnswer::Error("unknown authority".into()))
            .expect("reply");
    });
    match got {
        Err(Error::Refused { peer, message }) => {
            assert_eq!(peer, b.id);
            assert_eq!(message, "unknown authority");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // A node that drops the reply still answers the peer (with an error).
    let (got, ()) = tokio::join!(a.handle.heads(b.id), async {
        let (_, _, reply) = b.next_query().await;
        drop(reply);
    });
    assert!(matches!(got, Err(Error::Refused { .. })), "{got:?}");

    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn inbound_queries_over_the_bound_are_refused() {
    let mut config = crate::common::config();
    config.max_inbound_sync_per_peer = 1;
    let (a, mut b) = (Node::start(33).await, Node::start_with(34, config).await);
    a.trust(&[&b]).await;
    b.trust(&[&a]).await;
    eventually("pair connected", async || a.is_connected_to(&b).await).await;

    let first = tokio::spawn({
        let handle = a.handle.clone();
        let b_id = b.id;
        async move { handle.heads(b_id).await }
    });
    // Hold the first query unanswered so the second one is over the bound.
    let (_, _, held) = b.next_query().await;
    let second = a.handle.heads(b.id).await;
    assert!(matches!(second, Err(Error::Refused { .. })), "{second:?}");
    held.send(SyncAnswer::Heads(vec![head("US-DDTC", 1)]))
        .expect("reply");
    let first = within("first answer", first).await.expect("task");
    assert_eq!(first.expect("heads"), vec![head("US-DDTC", 1)]);

    a.stop().await;
    b.stop().await;
}

/// Writes and reads raw bytes on `/tally/sync/1`, to send what a well-behaved node never would.
#[derive(Debug, Clone, Default)]
struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut buf = Vec::new();
        io.take(1 << 16).read_to_end(&mut buf).await?;
        Ok(buf)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut buf = Vec::new();
        io.take(8 << 20).read_to_end(&mut buf).await?;
        Ok(buf)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&r).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&r).await
    }
}

type Raw = Swarm<request_response::Behaviour<RawCodec>>;
type RawEvent = request_response::Event<Vec<u8>, Vec<u8>>;

fn raw_peer(n: u8) -> Raw {
    libp2p::SwarmBuilder::with_existing_identity(key(n))
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp transport")
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                RawCodec,
                [(StreamProtocol::new("/tally/sync/1"), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            )
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Drives the raw swarm until it yields a request-response event.
async fn next_raw(raw: &mut Raw) -> RawEvent {
    within("raw peer event", async {
        loop {
            if let SwarmEvent::Behaviour(event) = raw.select_next_some().await {
                return event;
            }
        }
    })
    .await
}

fn frame(message: &impl prost::Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = u32::try_from(body.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(&body);
    out
}

/// A length prefix claiming 4 GiB, followed by a few bytes.
fn oversized_frame() -> Vec<u8> {
    let mut out = u32::MAX.to_be_bytes().to_vec();
    out.extend_from_slice(b"not really 4 GiB");
    out
}

/// The `SyncError` message the node answered to request `id`.
async fn refusal(raw: &mut Raw, id: request_response::OutboundRequestId) -> String {
    loop {
        match next_raw(raw).await {
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } if request_id == id => {
                let body = response.get(4..).expect("a length prefix");
                match SyncResponse::decode(body).map(|r| r.kind) {
                    Ok(Some(sync_response::Kind::Error(e))) => return e.message,
                    other => panic!("expected a SyncError, got {other:?}"),
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } if request_id == id => panic!("no answer to a malformed request: {error}"),
            _ => {}
        }
    }
}

/// Fails on the old codec, which turned these into stream errors: the peer
/// saw its stream dropped without a word.
#[tokio::test]
async fn malformed_sync_frames_get_a_sync_error() {
    let node = Node::start(43).await;
    let mut raw = raw_peer(44);
    let raw_id = *raw.local_peer_id();
    node.handle
        .set_trusted(vec![(raw_id, vec![])])
        .await
        .expect("set_trusted");
    let mut garbage = 3u32.to_be_bytes().to_vec();
    garbage.extend_from_slice(&[0xff, 0xff, 0xff]);
    let mut truncated = 10u32.to_be_bytes().to_vec();
    truncated.extend_from_slice(b"abc");
    let cases = [
        ("undecodable", garbage, "undecodable"),
        ("truncated", truncated, "ended after 3 of 10"),
        ("empty", Vec::new(), "malformed request"),
    ];
    for (name, bytes, want) in cases {
        let id =
            raw.behaviour_mut()
                .send_request_with_addresses(&node.id, bytes, node.addrs.clone());
        let why = refusal(&mut raw, id).await;
        assert!(
            why.starts_with("malformed request") && why.contains(want),
            "{name}: {why}"
        );
    }
    node.stop().await;
}

#[tokio::test]
async fn oversized_sync_frames_are_refused_without_harm() {
    let mut node = Node::start(41).await;
    let mut raw = raw_peer(42);
    let raw_id = *raw.local_peer_id();
    node.handle
        .set_trusted(vec![(raw_id, vec![])])
        .await
        .expect("set_trusted");

    // An oversized request: the node reads the prefix, refuses, and says why.
    let bad = raw.behaviour_mut().send_request_with_addresses(
        &node.id,
        oversized_frame(),
        node.addrs.clone(),
    );
    let why = refusal(&mut raw, bad).await;
    assert!(why.contains("malformed request"), "{why}");

    // The node is still serving: a well-formed request on the same connection works.
    let heads = SyncRequest {
        kind: Some(sync_request::Kind::Heads(HeadsRequest {})),
    };
    let good = raw.behaviour_mut().send_request(&node.id, frame(&heads));
    let (response, ()) = tokio::join!(
        async {
            loop {
                match next_raw(&mut raw).await {
                    request_response::Event::Message {
                        message:
                            request_response::Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    } if request_id == good => return response,
                    request_response::Event::OutboundFailure { error, .. } => {
                        panic!("well-formed request failed: {error}")
                    }
                    _ => {}
                }
            }
        },
        async {
            let (from, query, reply) = node.next_query().await;
            assert_eq!((from, query), (raw_id, SyncQuery::Heads));
            reply
                .send(SyncAnswer::Heads(vec![head("US-DDTC", 9)]))
                .expect("reply");
        }
    );
    let body = response.get(4..).expect("length prefix");
    let decoded = SyncResponse::decode(body).expect("a valid response frame");
    match decoded.kind {
        Some(sync_response::Kind::Heads(h)) => {
            assert_eq!(h.heads.len(), 1);
            assert_eq!(h.heads.first().map(|h| h.seq), Some(9));
        }
        other => panic!("unexpected response {other:?}"),
    }

    // An oversized response to the node's own request fails that request only.
    let got = {
        let mut heads = std::pin::pin!(node.handle.heads(raw_id));
        within("heads from the raw peer", async {
            loop {
                tokio::select! {
                    got = heads.as_mut() => return got,
                    event = raw.select_next_some() => {
                        if let SwarmEvent::Behaviour(request_response::Event::Message {
                            message: request_response::Message::Request { channel, .. },
                            ..
                        }) = event
                        {
                            raw.behaviour_mut()
                                .send_response(channel, oversized_frame())
                                .expect("channel open");
                        }
                    }
                }
            }
        })
        .await
    };
    assert!(matches!(got, Err(Error::Request { .. })), "{got:?}");
    let peers = node
        .handle
        .connected_peers()
        .await
        .expect("connected_peers");
    assert!(
        peers.contains(&raw_id),
        "a bad frame fails the request, not the connection"
    );

    node.stop().await;
}
