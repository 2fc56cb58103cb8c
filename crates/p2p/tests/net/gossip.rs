//! Gossip push: delivery after Accept, no forwarding after Reject, both topics.

use tally_p2p::{Acceptance, NetEvent, Topic};

use crate::common::{Node, eventually, publish_until_received};

#[tokio::test]
async fn two_trusting_nodes_connect_and_gossip_on_both_topics() {
    let (mut a, mut b) = (Node::start(1).await, Node::start(2).await);
    a.trust(&[&b]).await;
    b.trust(&[&a]).await;
    eventually("a and b connected", async || {
        a.is_connected_to(&b).await && b.is_connected_to(&a).await
    })
    .await;
    let b_id = b.id;
    a.next_event("PeerConnected(b)", |e| match e {
        NetEvent::PeerConnected(p) if p == b_id => Some(()),
        _ => None,
    })
    .await;

    let got = publish_until_received(&a, &mut b, Topic::Entries, b"entry from a").await;
    assert_eq!(got.topic, Topic::Entries);
    assert_eq!(got.from, a.id);
    assert_eq!(got.message.source(), a.id);
    assert_eq!(&got.data[..], b"entry from a");
    b.handle
        .report(got.message, Acceptance::Accept)
        .await
        .expect("report");

    let got = publish_until_received(&b, &mut a, Topic::Evidence, b"proof from b").await;
    assert_eq!(got.topic, Topic::Evidence);
    assert_eq!(got.from, b.id);
    assert_eq!(&got.data[..], b"proof from b");

    a.stop().await;
    b.stop().await;
}

/// A - B - C in a line: A and C do not trust each other, so whatever C gets
/// from A was forwarded by B, which forwards only what its node accepted.
#[tokio::test]
async fn accepted_gossip_is_forwarded_and_rejected_gossip_is_not() {
    let (a, mut b, mut c) = (
        Node::start(11).await,
        Node::start(12).await,
        Node::start(13).await,
    );
    a.trust(&[&b]).await;
    b.trust(&[&a, &c]).await;
    c.trust(&[&b]).await;
    eventually("line connected", async || {
        b.is_connected_to(&a).await && b.is_connected_to(&c).await
    })
    .await;
    assert!(
        !a.is_connected_to(&c).await,
        "a and c do not trust each other"
    );

    // Once C has received from B, B knows C subscribes, so C is in B's mesh.
    let probe = publish_until_received(&b, &mut c, Topic::Entries, b"probe").await;
    c.handle
        .report(probe.message, Acceptance::Accept)
        .await
        .expect("report");

    let m1 = publish_until_received(&a, &mut b, Topic::Entries, b"m1 valid").await;
    b.handle
        .report(m1.message, Acceptance::Accept)
        .await
        .expect("report");
    let at_c = c.next_gossip().await;
    assert_eq!(&at_c.data[..], b"m1 valid");
    assert_eq!(at_c.from, b.id, "forwarded by b");
    c.handle
        .report(at_c.message, Acceptance::Accept)
        .await
        .expect("report");

    a.handle
        .publish(Topic::Entries, b"m2 forged"[..].into())
        .await
        .expect("publish");
    let m2 = b.next_gossip().await;
    assert_eq!(&m2.data[..], b"m2 forged");
    b.handle
        .report(m2.message, Acceptance::Reject)
        .await
        .expect("report");

    a.handle
        .publish(Topic::Entries, b"m3 valid"[..].into())
        .await
        .expect("publish");
    let m3 = b.next_gossip().await;
    assert_eq!(&m3.data[..], b"m3 valid");
    b.handle
        .report(m3.message, Acceptance::Accept)
        .await
        .expect("report");
    // B forwards in verdict order over one connection: had m2 been forwarded,
    // C would see it before m3.
    let next_at_c = c.next_gossip().await;
    assert_eq!(
        &next_at_c.data[..],
        b"m3 valid",
        "the rejected m2 must not reach c"
    );

    for n in [a, b, c] {
        n.stop().await;
    }
}

#[tokio::test]
async fn gossip_reaches_every_node_of_a_full_mesh() {
    let (a, mut b, mut c) = (
        Node::start(21).await,
        Node::start(22).await,
        Node::start(23).await,
    );
    a.trust(&[&b, &c]).await;
    b.trust(&[&a, &c]).await;
    c.trust(&[&a, &b]).await;
    eventually("full mesh connected", async || {
        a.is_connected_to(&b).await && a.is_connected_to(&c).await && b.is_connected_to(&c).await
    })
    .await;

    // Make sure A knows both subscriptions before the real message.
    publish_until_received(&a, &mut b, Topic::Evidence, b"warm-up b").await;
    publish_until_received(&a, &mut c, Topic::Evidence, b"warm-up c").await;

    a.handle
        .publish(Topic::Entries, b"to everyone"[..].into())
        .await
        .expect("publish");
    for n in [&mut b, &mut c] {
        let got = loop {
            let g = n.next_gossip().await;
            if g.topic == Topic::Entries {
                break g;
            }
        };
        assert_eq!(&got.data[..], b"to everyone");
        n.handle
            .report(got.message, Acceptance::Accept)
            .await
            .expect("report");
    }

    for n in [a, b, c] {
        n.stop().await;
    }
}
