//! Start-up errors, shutdown, and a node that does not keep up with its events.

use tally_p2p::{Error, NetEvent, SyncAnswer, spawn};
use tokio_util::sync::CancellationToken;

use crate::common::{Node, config, eventually, key, within};

#[tokio::test]
async fn a_listen_address_in_use_is_a_config_error() {
    let a = Node::start(71).await;
    let mut taken = config();
    taken.listen = a.addrs.first().expect("an address").to_string();
    match spawn(taken, key(72), CancellationToken::new()) {
        Err(Error::Config { key, .. }) => assert_eq!(key, "listen"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
    a.stop().await;
}

#[tokio::test]
async fn cancelling_the_token_stops_the_service() {
    let cancel = CancellationToken::new();
    let (handle, _events) = spawn(config(), key(73), cancel.clone()).expect("starts");
    within("listen", handle.listen_addrs())
        .await
        .expect("listening");
    cancel.cancel();
    within("join", handle.join()).await;
    assert!(matches!(
        handle.connected_peers().await,
        Err(Error::Shutdown)
    ));
    assert!(matches!(
        handle.heads(handle.local_peer_id()).await,
        Err(Error::Shutdown)
    ));
}

#[tokio::test]
async fn a_node_that_does_not_keep_up_refuses_queries_instead_of_blocking() {
    let mut slow = config();
    slow.event_capacity = 1;
    let (a, mut b) = (Node::start(74).await, Node::start_with(75, slow).await);
    a.trust(&[&b]).await;
    b.trust(&[&a]).await;
    eventually("connected", async || a.is_connected_to(&b).await).await;

    // B's one event slot holds PeerConnected(a), so the query cannot be queued.
    let got = a.handle.heads(b.id).await;
    assert!(matches!(got, Err(Error::Refused { .. })), "{got:?}");

    let a_id = a.id;
    b.next_event("PeerConnected(a)", |e| {
        matches!(e, NetEvent::PeerConnected(p) if p == a_id).then_some(())
    })
    .await;
    let (got, ()) = tokio::join!(a.handle.heads(b.id), async {
        let (_, _, reply) = b.next_query().await;
        reply.send(SyncAnswer::Heads(vec![])).expect("reply");
    });
    assert_eq!(got.expect("served once drained"), vec![]);

    a.stop().await;
    b.stop().await;
}
