//! The one way a chat message is stored, whether it came over REST or a socket.
//!
//! Sends queue per worker: one on SQLite, a few on PostgreSQL (see `workers`), a room always on
//! the same one so its sends are stored in the order queued. A worker takes whatever sends are
//! waiting (up to
//! `MAX_BATCH`) and stores them in one transaction whose number of statements does not grow with
//! the batch: the rooms, their people and earlier sends of the same client ids are read once,
//! every message is planned in memory in arrival order (exactly as if they had been sent one
//! after another), then the messages, room numbers, read positions, notifications and event
//! frames are written with one multi-row statement each. A quiet server runs batches of one, so
//! a lone message waits for nothing; a busy one shares each transaction's fixed cost among many
//! messages. (Sent one by one, each message cost about 13 round trips to the single SQLite
//! writer, and those round trips, not SQLite, were the limit.)
//!
//! A transaction that fails stores nothing of its batch; each send of it is then tried alone,
//! so one send's failure never becomes its neighbours'. Frames are published only after the
//! commit (the task runs the batch inside its own event collector).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use kintara_api::{
    ChatMessage, Event, MessageType, Notification, NotificationType, SendMessage, READING_SECONDS,
};
use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::cast::{Cast, Viewer, ANONYMOUS};
use super::repo::{self, MessageRow, ParticipantRow, RoomRow};
use super::ChatError;
use crate::auth::AuthUser;
use crate::db::{Backend, Db};
use crate::delivery::outbox;
use crate::delivery::plan::{NewDelivery, Reach};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Hub};
use crate::notifications;

/// Most sends stored in one transaction: bounds the statements' JSON parameters and how long
/// the last send of a batch waits for the others. The realtime bench (50 sockets, 8 sends in
/// flight each) measured 6 500 messages/s with 64, 9 200 with 256.
pub const MAX_BATCH: usize = 256;
/// Sends waiting beyond this make their senders wait to queue (back-pressure).
const QUEUE: usize = 4096;

/// Batches stored at once, each by its own worker with its own queue. SQLite has one writer, so
/// one. PostgreSQL commits several transactions in parallel (each waits for its own flush to
/// disk). A room's sends always go to the same worker (`shard`), so they are stored in the order
/// they were queued: a socket may have several sends in flight (`socket::connection`), and they
/// must not overtake each other. Batches of different rooms that share a person lock the users'
/// rows in id order (no deadlock).
fn workers(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    }
}

/// What a send answers: 201 and the new message, or 200 and the message stored before with the
/// same client id.
pub type Sent = (StatusCode, ChatMessage);

struct Job {
    user: AuthUser,
    req: SendMessage,
    reply: oneshot::Sender<ApiResult<Sent>>,
}

/// The handle requests send through.
#[derive(Clone)]
pub struct SendQueue {
    /// One queue per worker.
    shards: Arc<[mpsc::Sender<Job>]>,
}

/// A queued send's answer, to be awaited.
pub struct Queued(oneshot::Receiver<ApiResult<Sent>>);

impl Queued {
    pub async fn answer(self) -> ApiResult<Sent> {
        self.0.await.map_err(|_| stopped())?
    }
}

impl SendQueue {
    /// Starts the tasks that store sends. They end by themselves once every handle is gone,
    /// after storing what was queued.
    pub fn start(db: Db, hub: Arc<Hub>) -> SendQueue {
        let shards = (0..workers(db.backend))
            .map(|_| {
                let (jobs, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(db.clone(), hub.clone(), rx));
                jobs
            })
            .collect();
        SendQueue { shards }
    }

    /// Stores `req` from `user` (already validated) and answers as REST does.
    pub async fn send(&self, user: AuthUser, req: SendMessage) -> ApiResult<Sent> {
        self.enqueue(user, req).await?.answer().await
    }

    /// Queues `req` from `user` (already validated) behind every send queued before it in the
    /// same room; it is stored in that order. Waits only when the queue is full.
    pub async fn enqueue(&self, user: AuthUser, req: SendMessage) -> ApiResult<Queued> {
        let (reply, answer) = oneshot::channel();
        let shard = (req.room.as_u128() % self.shards.len() as u128) as usize;
        self.shards[shard]
            .send(Job { user, req, reply })
            .await
            .map_err(|_| stopped())?;
        Ok(Queued(answer))
    }
}

fn stopped() -> ApiError {
    ApiError::internal("the send queue has stopped")
}

async fn run(db: Db, hub: Arc<Hub>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        if rx.recv_many(&mut jobs, MAX_BATCH).await == 0 {
            return;
        }
        let (answers, published) = events::collect(store_all(&db, &jobs)).await;
        published.publish(&hub);
        for (job, answer) in jobs.drain(..).zip(answers) {
            // A sender that has gone away finds its message stored when it retries.
            let _ = job.reply.send(answer);
        }
    }
}

async fn store_all(db: &Db, jobs: &[Job]) -> Vec<ApiResult<Sent>> {
    match store(db, jobs).await {
        Ok(answers) => answers,
        Err(e) if jobs.len() > 1 => {
            tracing::warn!(error = %e, sends = jobs.len(), "a batch of sends failed; trying each alone");
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                let alone = store(db, std::slice::from_ref(job)).await;
                answers.push(alone.and_then(|mut a| a.pop().expect("one answer per send")));
            }
            answers
        }
        Err(e) => vec![Err(e)],
    }
}

/// Everything a batch writes, planned in memory first.
#[derive(Default)]
struct Plan {
    messages: Vec<MessageRow>,
    /// Each room's last message number so far.
    last_seq: HashMap<Uuid, i64>,
    /// Each sender's read position in each room: the last message they sent there.
    reads: HashMap<(Uuid, Uuid), i64>,
    /// Senders whose typing state a message ends.
    typing_done: BTreeSet<(Uuid, Uuid)>,
    notifications: notifications::Stored,
    /// Every recipient's frames, in the order they happen.
    frames: Vec<(Uuid, Event)>,
}

/// The batch's transaction. `Err`: nothing was stored. `Ok`: every send's own answer.
async fn store(db: &Db, jobs: &[Job]) -> ApiResult<Vec<ApiResult<Sent>>> {
    let mut tx = db.begin_write().await?;
    let now = Utc::now();
    let pairs: Vec<(Uuid, Uuid)> = jobs
        .iter()
        .map(|j| (j.req.room, j.user.id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let lock = db.backend == Backend::Postgres;
    let member = repo::member_rooms(&mut tx, &pairs, lock).await?;
    let open = unique(member.keys().map(|(room, _)| *room));
    let mut people = repo::participants_of(&mut tx, &open).await?;
    let keys: Vec<(Uuid, Uuid, &str)> = jobs
        .iter()
        .filter(|j| member.contains_key(&(j.req.room, j.user.id)))
        .filter_map(|j| Some((j.req.room, j.user.id, client_id(&j.req)?)))
        .collect();
    let mut earlier: HashMap<(Uuid, Uuid, String), MessageRow> = HashMap::new();
    for m in repo::by_client_ids(&mut tx, &keys).await? {
        if let (Some(sender), Some(c)) = (m.sender, m.client_id.clone()) {
            earlier.insert((m.room, sender, c), m);
        }
    }
    let everyone = unique(people.values().flatten().map(|p| p.id));
    let chosen =
        notifications::repo::preferences(&mut tx, &everyone, NotificationType::NewMessage).await?;
    let reach = Reach::load(&mut tx, &everyone).await?;

    let mut plan = Plan::default();
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let room = member.get(&(job.req.room, job.user.id));
        let answer = match (room, people.get_mut(&job.req.room)) {
            (Some(room), Some(people)) => {
                let sent = Sending {
                    user: &job.user,
                    req: &job.req,
                    room,
                    now,
                    chosen: &chosen,
                    reach: &reach,
                };
                sent.plan(&mut tx, people, &mut earlier, &mut plan).await
            }
            _ => Err(ChatError::NotFound.into()),
        };
        answers.push(answer);
    }

    let stored = repo::insert_messages(&mut tx, &plan.messages).await?;
    if stored != plan.messages.len() as u64 {
        // Only a send racing this one past the room lock could do this; alone, the retry
        // finds that send's message.
        return Err(ApiError::internal("a client id was taken during the batch"));
    }
    let last: Vec<(Uuid, i64)> = plan.last_seq.into_iter().collect();
    repo::set_last_seqs(&mut tx, &last, now).await?;
    let reads: Vec<(Uuid, Uuid, i64)> = plan
        .reads
        .into_iter()
        .map(|((room, user), seq)| (room, user, seq))
        .collect();
    repo::advance_reads(&mut tx, &reads, now).await?;
    for (room, user) in plan.typing_done {
        repo::set_typing(&mut tx, room, user, None).await?;
    }
    notifications::repo::insert_many(&mut tx, &plan.notifications.notifications).await?;
    outbox::enqueue(&mut tx, &plan.notifications.deliveries).await?;
    events::append_many(&mut tx, &plan.frames).await?;
    tx.commit().await?;
    Ok(answers)
}

/// One send of a batch.
struct Sending<'a> {
    user: &'a AuthUser,
    req: &'a SendMessage,
    room: &'a RoomRow,
    now: DateTime<Utc>,
    chosen: &'a HashMap<Uuid, Vec<kintara_api::Channel>>,
    reach: &'a Reach,
}

impl Sending<'_> {
    /// Plans this send on top of the batch's earlier ones: `people` and `earlier` are the
    /// room's state after them, and are moved past this one.
    async fn plan(
        &self,
        conn: &mut AnyConnection,
        people: &mut [ParticipantRow],
        earlier: &mut HashMap<(Uuid, Uuid, String), MessageRow>,
        plan: &mut Plan,
    ) -> ApiResult<Sent> {
        let (user, room) = (self.user, self.room);
        let key = client_id(self.req).map(|c| (room.id, user.id, c.to_owned()));
        if let Some(first) = key.as_ref().and_then(|k| earlier.get(k)) {
            // Sent before with this client id: the first message, and nothing new.
            let cast = Cast::of(conn, user.into(), room, people.to_vec()).await?;
            return Ok((StatusCode::OK, cast.message(user.id, first)));
        }
        // A closed room takes nothing new (but still answers a retry of what it took before).
        if !repo::writable(conn, room, people).await? {
            return Err(ChatError::ReadOnly.into());
        }
        if super::blocks::sender_blocked_in(conn, room.id, user.id).await? {
            return Err(ChatError::Blocked.into());
        }
        let seq = plan.last_seq.entry(room.id).or_insert(room.last_seq);
        *seq += 1;
        let row = MessageRow {
            // Time-ordered: new messages go to the end of the id index instead of a random page
            // each (fewer pages written per batch). The time is no secret: `created_at` says it.
            id: Uuid::now_v7(),
            room: room.id,
            seq: *seq,
            sender: Some(user.id),
            client_id: client_id(self.req).map(str::to_owned),
            message_type: MessageType::UserMessage,
            // Stored as typed (validation only refuses blank text).
            content: self.req.content.clone(),
            created_at: self.now,
            deleted_at: None,
        };
        // Replying means the sender has seen the room up to here, and stops typing.
        plan.reads.insert((room.id, user.id), row.seq);
        if let Some(me) = people.iter_mut().find(|p| p.id == user.id) {
            me.last_read_seq = me.last_read_seq.max(row.seq);
            me.reading_at = Some(self.now);
            if me.typing_until.take().is_some() {
                plan.typing_done.insert((room.id, user.id));
            }
        }
        // A `new_message` frame for every other participant, each with the message as that
        // person sees it (an anonymous survivor stays anonymous to providers).
        // The sender's name as each of them may see it, for their notifications too: one
        // decision (the room's `Cast`) for the frame and the notification alike.
        let mut names = HashMap::new();
        for p in people.iter().filter(|p| p.id != user.id) {
            let viewer = Viewer {
                id: p.id,
                role: p.role,
            };
            let view = Cast::of(conn, viewer, room, people.to_vec())
                .await?
                .message(p.id, &row);
            let name = view.sender.as_ref().map(|s| s.full_name.clone());
            names.insert(p.id, name.unwrap_or_else(|| ANONYMOUS.to_owned()));
            plan.frames.push((p.id, Event::NewMessage(Box::new(view))));
        }
        for stored in self.notifications(people, &row, &names) {
            let n = &stored.0;
            if notifications::in_app(n) {
                plan.frames
                    .push((n.recipient, Event::Notification(Box::new(n.clone()))));
            }
            plan.notifications.add(stored);
        }
        let view = Cast::of(conn, user.into(), room, people.to_vec())
            .await?
            .message(user.id, &row);
        if let Some(k) = key {
            earlier.insert(k, row.clone());
        }
        plan.messages.push(row);
        Ok((StatusCode::CREATED, view))
    }

    /// A `new_message` notification for everyone else in the room who is not reading it now.
    fn notifications(
        &self,
        people: &[ParticipantRow],
        m: &MessageRow,
        names: &HashMap<Uuid, String>,
    ) -> Vec<(Notification, Vec<NewDelivery>)> {
        let since = m.created_at - Duration::seconds(READING_SECONDS);
        let recipients: Vec<notifications::Recipient> = people
            .iter()
            .filter(|p| p.id != self.user.id && p.account_active)
            .filter(|p| p.reading_at.is_none_or(|at| at < since))
            .map(|p| notifications::Recipient {
                id: p.id,
                role: p.role,
                // Nobody the frames were not shaped for is named anything but "Anonymous".
                sender_name: names
                    .get(&p.id)
                    .cloned()
                    .unwrap_or_else(|| ANONYMOUS.to_owned()),
            })
            .collect();
        if recipients.is_empty() {
            return Vec::new();
        }
        notifications::new_message_drafts(m.room, self.room.incident, &recipients)
            .iter()
            .map(|d| notifications::to_store(d, self.chosen.get(&d.recipient), self.reach))
            .collect()
    }
}

fn client_id(req: &SendMessage) -> Option<&str> {
    req.client_id.as_deref().map(str::trim)
}

fn unique(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    ids.collect::<BTreeSet<_>>().into_iter().collect()
}
