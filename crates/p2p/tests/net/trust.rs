//! Trust: untrusted peers never reach the node; the trusted set changes at runtime.

use tally_p2p::{Error, NetEvent, SyncAnswer, SyncQuery, Topic};

use crate::common::{Node, eventually};

#[tokio::test]
async fn an_untrusted_peer_cannot_connect_or_sync() {
    let (a, mut v, u) = (
        Node::start(51).await,
        Node::start(52).await,
        Node::start(53).await,
    );
    // V trusts only A. U trusts V, so U dials V and sends requests to it.
    v.trust(&[&a]).await;
    a.trust(&[&v]).await;
    u.trust(&[&v]).await;
    eventually("a and v connected", async || v.is_connected_to(&a).await).await;

    let got = u.handle.heads(v.id).await;
    assert!(matches!(got, Err(Error::Request { .. })), "{got:?}");
    u.handle
        .publish(Topic::Entries, b"from an untrusted node"[..].into())
        .await
        .expect("publishing to nobody is not an error");
    assert!(!v.is_connected_to(&u).await);

    // A's query reaches V's node; nothing from U may come before it (or ever).
    let u_id = u.id;
    let (answer, ()) = tokio::join!(a.handle.heads(v.id), async {
        let (from, reply) = v
            .next_event("query from a", |e| {
                let from = match &e {
                    NetEvent::Gossip { from, .. } | NetEvent::SyncQuery { from, .. } => *from,
                    NetEvent::PeerConnected(p) | NetEvent::PeerDisconnected(p) => *p,
                };
                assert_ne!(
                    from, u_id,
                    "an event from the untrusted peer reached the node: {e:?}"
                );
                match e {
                    NetEvent::SyncQuery {
                        from,
                        query: SyncQuery::Heads,
                        reply,
                    } => Some((from, reply)),
                    _ => None,
                }
            })
            .await;
        assert_eq!(from, a.id);
        reply.send(SyncAnswer::Heads(vec![])).expect("reply");
    });
    assert_eq!(answer.expect("a is served"), vec![]);

    // The caller-side check: a node does not send requests to peers it does not trust.
    let got = v.handle.heads(u.id).await;
    assert!(
        matches!(got, Err(Error::NotTrusted(p)) if p == u.id),
        "{got:?}"
    );

    for n in [a, v, u] {
        n.stop().await;
    }
}

#[tokio::test]
async fn set_trusted_at_runtime_connects_and_removal_disconnects() {
    let (mut a, mut b) = (Node::start(61).await, Node::start(62).await);
    // A trusts B first; B refuses A until it trusts A too.
    a.trust(&[&b]).await;
    assert!(!b.is_connected_to(&a).await);
    b.trust(&[&a]).await;
    eventually("connected after both trust", async || {
        a.is_connected_to(&b).await && b.is_connected_to(&a).await
    })
    .await;
    let a_id = a.id;
    b.next_event("PeerConnected(a) at b", |e| match e {
        NetEvent::PeerConnected(p) if p == a_id => Some(()),
        _ => None,
    })
    .await;

    b.handle.set_trusted(vec![]).await.expect("set_trusted");
    eventually("b dropped a", async || !b.is_connected_to(&a).await).await;
    b.next_event("PeerDisconnected(a) at b", |e| match e {
        NetEvent::PeerDisconnected(p) if p == a_id => Some(()),
        _ => None,
    })
    .await;
    let b_id = b.id;
    a.next_event("PeerDisconnected(b) at a", |e| match e {
        NetEvent::PeerDisconnected(p) if p == b_id => Some(()),
        _ => None,
    })
    .await;
    let got = b.handle.heads(a.id).await;
    assert!(matches!(got, Err(Error::NotTrusted(_))), "{got:?}");

    a.stop().await;
    b.stop().await;
}
