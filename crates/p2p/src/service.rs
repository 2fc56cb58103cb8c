//! `spawn` and the swarm task: the one task that owns the `Swarm`, turns commands into swarm
//! calls and swarm events into `NetEvent`s, and never waits on the node.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use libp2p::gossipsub::{self, PublishError};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, InboundRequestId, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{DialError, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, noise, tcp, yamux};
use tally_proto::v1::SyncResponse;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::codec::RequestFrame;
use crate::config::Settings;
use crate::dialer::Trusted;
use crate::gossip::{Acceptance, MessageRef, Topic};
use crate::handle::{Command, NetEvent, P2pHandle};
use crate::inbound::{Inbound, Pending};
use crate::sync::{
    Answered, SyncAnswer, SyncQuery, answer_from_wire, answer_to_wire, error_response,
    query_from_wire, query_to_wire,
};
use crate::{Config, Error};

/// Connections to trusted peers are meant to stay up; gossipsub only keeps
/// mesh connections alive, so idle ones are kept this long before closing
/// (the dialer reconnects trusted peers anyway).
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);

/// Starts the p2p service: binds the listen address, then runs the swarm in
/// one task until `cancel` fires, [`P2pHandle::shutdown`] is called, or every
/// handle is dropped. Must be called inside a Tokio runtime.
///
/// Nobody is trusted at first: call [`P2pHandle::set_trusted`]. The node must
/// drain the returned receiver; when it is full, gossip is ignored and sync
/// queries are refused rather than the swarm waiting.
pub fn spawn(
    config: Config,
    keypair: Keypair,
    cancel: CancellationToken,
) -> Result<(P2pHandle, mpsc::Receiver<NetEvent>), Error> {
    let settings = Settings::try_from(&config)?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::Transport("spawn must be called inside a Tokio runtime".to_owned()))?;
    ensure_port_free(&settings.listen)?;
    let behaviour = Behaviour::new(&keypair, &settings)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| Error::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .unwrap_or_else(|never| match never {})
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();
    swarm
        .listen_on(settings.listen.clone())
        .map_err(|e| Error::Config {
            key: "listen",
            reason: format!("cannot listen on {}: {e}", settings.listen),
        })?;

    let local_peer_id = *swarm.local_peer_id();
    let (commands_tx, commands) = mpsc::channel(settings.command_capacity);
    let (events, events_rx) = mpsc::channel(settings.event_capacity);
    let cancel = cancel.child_token();
    let finished = CancellationToken::new();
    let task = SwarmTask {
        swarm,
        trusted: Trusted::new(settings.redial_initial, settings.redial_max),
        inbound: Inbound::new(
            settings.max_inbound_sync_per_peer,
            settings.max_inbound_sync_total,
            settings.sync_request_timeout,
        ),
        settings,
        commands,
        events,
        outbound: HashMap::new(),
        listen_waiters: Vec::new(),
    };
    let done = finished.clone().drop_guard();
    let stop = cancel.clone();
    runtime.spawn(async move {
        // Dropped when the task ends, even by panic, so `join` always returns.
        let _done = done;
        task.run(stop).await;
    });
    tracing::info!(peer = %local_peer_id, "p2p service started");
    let handle = P2pHandle {
        commands: commands_tx,
        local_peer_id,
        cancel,
        finished,
    };
    Ok((handle, events_rx))
}

struct SwarmTask {
    swarm: Swarm<Behaviour>,
    settings: Settings,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    trusted: Trusted,
    /// Peers' queries waiting for the node's answer.
    inbound: Inbound<InboundRequestId, ResponseChannel<SyncResponse>>,
    outbound: HashMap<OutboundRequestId, oneshot::Sender<Result<Answered, Error>>>,
    /// `listen_addrs` callers waiting for the first bound address.
    listen_waiters: Vec<oneshot::Sender<Result<Vec<Multiaddr>, Error>>>,
}

impl SwarmTask {
    async fn run(mut self, cancel: CancellationToken) {
        loop {
            let redial = self.trusted.next_deadline();
            // Local work (commands, the node's answers) comes before new work from peers.
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                (pending, answer) = self.inbound.next() => self.on_answer(pending, answer),
                () = sleep_until(redial) => self.redial(),
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
            }
        }
        tracing::info!(peer = %self.swarm.local_peer_id(), "p2p service stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            Command::Report {
                message,
                acceptance,
            } => self.report(&message, acceptance),
            Command::SetTrusted { peers, reply } => {
                let change = self.trusted.replace(peers, Instant::now());
                let allow = &mut self.swarm.behaviour_mut().allow;
                for peer in change.added {
                    allow.allow_peer(peer);
                }
                for peer in change.removed {
                    // Also closes every connection to the peer.
                    allow.disallow_peer(peer);
                    tracing::info!(%peer, "peer no longer trusted");
                }
                let _ = reply.send(());
            }
            Command::Sync { peer, query, reply } => self.send_sync(peer, query, reply),
            Command::ConnectedPeers { reply } => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::ListenAddrs { reply } => {
                let addrs: Vec<Multiaddr> = self.swarm.listeners().cloned().collect();
                if !addrs.is_empty() {
                    let _ = reply.send(Ok(addrs));
                } else if self.listen_waiters.len() < self.settings.command_capacity {
                    self.listen_waiters.push(reply);
                } else {
                    let _ = reply.send(Err(Error::Busy("listen address queries")));
                }
            }
        }
    }

    fn publish(&mut self, topic: Topic, data: Bytes) -> Result<(), Error> {
        let max = self.settings.max_gossip_bytes;
        if data.len() > max {
            return Err(Error::TooLarge {
                size: data.len(),
                max,
            });
        }
        let size = data.len();
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic.hash(), Vec::from(data))
        {
            Ok(_) => Ok(()),
            // Nobody to send to yet, or the network already has it: the pull path covers both.
            Err(PublishError::NoPeersSubscribedToTopic) => {
                tracing::debug!(
                    topic = topic.name(),
                    "published to no peer: none subscribed"
                );
                Ok(())
            }
            Err(PublishError::Duplicate) => {
                tracing::debug!(topic = topic.name(), "not republishing a known message");
                Ok(())
            }
            Err(PublishError::MessageTooLarge) => Err(Error::TooLarge { size, max }),
            Err(e) => Err(Error::Publish(e.to_string())),
        }
    }

    fn report(&mut self, message: &MessageRef, acceptance: Acceptance) {
        let known = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&message.id, &message.source, acceptance.into());
        if !known {
            tracing::debug!(
                message = %message.id,
                ?acceptance,
                "verdict after the message left the cache; not forwarded"
            );
        }
    }

    fn send_sync(
        &mut self,
        peer: PeerId,
        query: SyncQuery,
        reply: oneshot::Sender<Result<Answered, Error>>,
    ) {
        if !self.trusted.contains(&peer) {
            let _ = reply.send(Err(Error::NotTrusted(peer)));
            return;
        }
        if self.outbound.len() >= self.settings.max_outbound_sync {
            let _ = reply.send(Err(Error::Busy("outbound sync requests")));
            return;
        }
        let addrs = self.trusted.addrs(&peer);
        let id = self.swarm.behaviour_mut().sync.send_request_with_addresses(
            &peer,
            RequestFrame::Decoded(query_to_wire(query)),
            addrs,
        );
        self.outbound.insert(id, reply);
    }

    fn redial(&mut self) {
        let now = Instant::now();
        for (peer, addrs) in self.trusted.due(now) {
            if self.swarm.is_connected(&peer) {
                self.trusted.on_connected(&peer, now);
                continue;
            }
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            match self.swarm.dial(opts) {
                Ok(()) => tracing::debug!(%peer, "dialing trusted peer"),
                // A dial is already under way; its outcome reschedules us.
                Err(DialError::DialPeerConditionFalse(_)) => {}
                Err(error) => {
                    tracing::debug!(%peer, %error, "cannot dial trusted peer");
                    self.trusted.on_dial_failed(&peer, now);
                }
            }
        }
    }

    /// Hands an event to the node without waiting; gives it back if the node
    /// is not keeping up (or has stopped listening).
    fn emit(&self, event: NetEvent) -> Option<NetEvent> {
        match self.events.try_send(event) {
            Ok(()) => None,
            Err(TrySendError::Full(event) | TrySendError::Closed(event)) => Some(event),
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(event)) => {
                tracing::trace!(?event, "identify");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(event)) => {
                if let Err(error) = event.result {
                    tracing::debug!(peer = %event.peer, %error, "ping failed");
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Allow(never)) => match never {},
            SwarmEvent::Behaviour(BehaviourEvent::Limits(never)) => match never {},
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                tracing::debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connected");
                self.trusted.on_connected(&peer_id, Instant::now());
                if num_established.get() == 1
                    && self.emit(NetEvent::PeerConnected(peer_id)).is_some()
                {
                    tracing::warn!(peer = %peer_id, "node not keeping up; PeerConnected dropped");
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                tracing::debug!(peer = %peer_id, ?cause, "connection closed");
                if num_established == 0 {
                    self.trusted.on_disconnected(&peer_id, Instant::now());
                    if self.emit(NetEvent::PeerDisconnected(peer_id)).is_some() {
                        tracing::warn!(peer = %peer_id, "node not keeping up; PeerDisconnected dropped");
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "dial failed");
                if let Some(peer) = peer_id {
                    self.trusted.on_dial_failed(&peer, Instant::now());
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                peer_id,
                ..
            } => {
                tracing::debug!(peer = ?peer_id, addr = %send_back_addr, %error, "incoming connection refused or failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                let addrs: Vec<Multiaddr> = self.swarm.listeners().cloned().collect();
                for waiter in self.listen_waiters.drain(..) {
                    let _ = waiter.send(Ok(addrs.clone()));
                }
            }
            SwarmEvent::ListenerClosed { reason, .. } => {
                tracing::warn!(?reason, "listener closed");
                self.fail_listen_waiters();
            }
            SwarmEvent::ListenerError { error, .. } => {
                tracing::warn!(%error, "listener error");
                self.fail_listen_waiters();
            }
            other => tracing::trace!(event = ?other, "swarm event"),
        }
    }

    fn fail_listen_waiters(&mut self) {
        if self.swarm.listeners().next().is_none() {
            for waiter in self.listen_waiters.drain(..) {
                let _ = waiter.send(Err(Error::Transport("no listen address".to_owned())));
            }
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source: from,
            message_id,
            message,
        } = event
        else {
            tracing::debug!(?event, "gossipsub");
            return;
        };
        let message_ref = MessageRef {
            id: message_id,
            source: from,
        };
        let topic = Topic::from_hash(&message.topic);
        let verdict = match topic {
            // The allow list closes connections of removed peers, but
            // messages already received may still be queued.
            _ if !self.trusted.contains(&from) => Some(Acceptance::Ignore),
            None => Some(Acceptance::Ignore),
            Some(_) if message.data.len() > self.settings.max_gossip_bytes => {
                tracing::debug!(peer = %from, size = message.data.len(), "oversized gossip");
                Some(Acceptance::Reject)
            }
            Some(_) => None,
        };
        if let Some(verdict) = verdict {
            self.report(&message_ref, verdict);
            return;
        }
        let Some(topic) = topic else { return };
        let event = NetEvent::Gossip {
            topic,
            from,
            message: message_ref,
            data: Bytes::from(message.data),
        };
        if let Some(NetEvent::Gossip { message, .. }) = self.emit(event) {
            // Ignored rather than waited for: the node pulls what it missed.
            tracing::debug!(peer = %from, "node not keeping up; gossip ignored");
            self.report(&message, Acceptance::Ignore);
        }
    }

    fn on_sync(&mut self, event: request_response::Event<RequestFrame, SyncResponse>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request_id,
                        request,
                        channel,
                    },
                ..
            } => self.on_inbound_query(peer, request_id, request, channel),
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => match self.outbound.remove(&request_id) {
                Some(reply) => {
                    let _ = reply.send(Ok(answer_from_wire(response)));
                }
                None => tracing::debug!(%peer, "response to an unknown request"),
            },
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "sync request failed");
                if let Some(reply) = self.outbound.remove(&request_id) {
                    let _ = reply.send(Err(Error::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn on_inbound_query(
        &mut self,
        peer: PeerId,
        request_id: InboundRequestId,
        request: RequestFrame,
        channel: ResponseChannel<SyncResponse>,
    ) {
        let refusal = if !self.trusted.contains(&peer) {
            Some("not trusted")
        } else if !self.inbound.has_room(&peer) {
            Some("too many pending sync requests")
        } else {
            None
        };
        if let Some(reason) = refusal {
            return self.refuse(peer, channel, reason);
        }
        let request = match request {
            RequestFrame::Decoded(request) => request,
            RequestFrame::Malformed(why) => {
                // A peer's fault: debug, so a peer cannot flood the log.
                tracing::debug!(%peer, reason = %why, "malformed sync request");
                return self.refuse(peer, channel, &format!("malformed request: {why}"));
            }
        };
        let Some(query) = query_from_wire(request, self.settings.max_range_entries) else {
            return self.refuse(peer, channel, "empty or unknown request");
        };
        let max_entries = match &query {
            SyncQuery::Range { limit, .. } => usize::try_from(*limit).unwrap_or(usize::MAX),
            SyncQuery::Heads => usize::MAX,
            SyncQuery::Evidence => self.settings.max_range_entries as usize,
        };
        let (reply, answer) = oneshot::channel();
        if let Some(NetEvent::SyncQuery { .. }) = self.emit(NetEvent::SyncQuery {
            from: peer,
            query,
            reply,
        }) {
            return self.refuse(peer, channel, "busy");
        }
        let pending = Pending {
            peer,
            channel,
            max_entries,
        };
        self.inbound.insert(request_id, pending, answer);
    }

    fn refuse(&mut self, peer: PeerId, channel: ResponseChannel<SyncResponse>, reason: &str) {
        tracing::debug!(%peer, reason, "sync request refused");
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, error_response(reason));
    }

    fn on_answer(
        &mut self,
        pending: Pending<ResponseChannel<SyncResponse>>,
        answer: Option<SyncAnswer>,
    ) {
        let response = match answer {
            Some(answer) => answer_to_wire(
                answer,
                pending.max_entries,
                self.settings.max_response_bytes,
            ),
            None => error_response("the node did not answer"),
        };
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(pending.channel, response)
            .is_err()
        {
            tracing::debug!(peer = %pending.peer, "sync answer too late: the request timed out or its connection closed");
        }
    }
}

/// libp2p-tcp binds listeners with `SO_REUSEPORT`, so a second node started
/// on a taken port would share it and the kernel would split incoming
/// connections between the two. A plain bind (without that option) fails on a
/// taken port, which turns the mistake into a start-up error.
fn ensure_port_free(listen: &Multiaddr) -> Result<(), Error> {
    use libp2p::multiaddr::Protocol;
    let mut parts = listen.iter();
    let ip: std::net::IpAddr = match parts.next() {
        Some(Protocol::Ip4(ip)) => ip.into(),
        Some(Protocol::Ip6(ip)) => ip.into(),
        _ => return Ok(()),
    };
    let port = match parts.next() {
        Some(Protocol::Tcp(port)) if port != 0 => port,
        _ => return Ok(()),
    };
    std::net::TcpListener::bind((ip, port))
        .map(drop)
        .map_err(|e| Error::Config {
            key: "listen",
            reason: format!("cannot listen on {listen}: {e}"),
        })
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
