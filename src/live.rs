//! Live updates: the shell's events (`kintara_api::app::event`) turned into signals. Each frame
//! moves only the topics it concerns (`concerns`), and a screen refetches when its own topics
//! move, never for another screen's news.

use kintara_api::app::{cmd, event, AppEvent, Command, Output};
use kintara_api::Event;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::app::Ctx;
use crate::ipc::{self, NoArgs};
use crate::presence;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], catch)]
    async fn listen(event: &str, handler: &Closure<dyn FnMut(JsValue)>)
        -> Result<JsValue, JsValue>;
}

/// Calls `handle` with the payload of every `E` the shell emits, for the life of the window.
async fn on<E: AppEvent>(mut handle: impl FnMut(E::Payload) + 'static) {
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let payload =
            js_sys::Reflect::get(&ev, &JsValue::from_str("payload")).unwrap_or(JsValue::NULL);
        // A payload this UI cannot read (a newer shell) changes nothing.
        if let Ok(p) = serde_wasm_bindgen::from_value::<E::Payload>(payload) {
            handle(p);
        }
    });
    let _ = listen(E::NAME, &closure).await;
    closure.forget();
}

/// What the screens show, grouped by the frames that change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Cases and their assignments: the provider's, the dispatcher's, the survivor's reports.
    Cases,
    /// Rooms and their messages and read marks.
    Rooms,
    /// The notification feed and its unread count.
    Notifications,
}

/// The topics a frame changes. Typing and presence change no screen's data (they have signals of
/// their own); a resync changes everything.
pub fn concerns(event: &Event) -> &'static [Topic] {
    match event {
        Event::NewMessage(_) | Event::MessageRead(_) | Event::MessageDeleted(_) => &[Topic::Rooms],
        // A notification is mostly about a case (offered, answered, withdrawn, moved), and for
        // some of them (an offer withdrawn from a provider) it is the only frame.
        Event::Notification(_) => &[Topic::Notifications, Topic::Cases],
        Event::CaseAssigned(_) | Event::CaseUpdated(_) | Event::IncidentUpdated(_) => {
            &[Topic::Cases]
        }
        Event::Typing(_) | Event::Presence(_) => &[],
        Event::ResyncRequired {} => &[Topic::Cases, Topic::Rooms, Topic::Notifications],
    }
}

/// A version per topic, moved by the frames that concern it.
#[derive(Clone, Copy)]
pub struct Topics {
    cases: RwSignal<u64>,
    rooms: RwSignal<u64>,
    notifications: RwSignal<u64>,
}

impl Topics {
    pub fn new() -> Self {
        Topics {
            cases: RwSignal::new(0),
            rooms: RwSignal::new(0),
            notifications: RwSignal::new(0),
        }
    }

    fn signal(&self, topic: Topic) -> RwSignal<u64> {
        match topic {
            Topic::Cases => self.cases,
            Topic::Rooms => self.rooms,
            Topic::Notifications => self.notifications,
        }
    }

    /// Makes the caller (an effect) run again when `topic` moves.
    pub fn track(&self, topic: Topic) {
        self.signal(topic).track();
    }

    /// Moves `topic` after a change this device made itself (a room joined or left).
    pub fn bump(&self, topic: Topic) {
        self.signal(topic).update(|v| *v += 1);
    }

    fn moved(&self, event: &Event) {
        for t in concerns(event) {
            self.signal(*t).update(|v| *v += 1);
        }
    }
}

impl Default for Topics {
    fn default() -> Self {
        Topics::new()
    }
}

/// What a screen shows, loaded as a resource: `fetch` runs again whenever a signal it reads
/// synchronously changes (its topics, a filter, a reload button); only the latest answer is
/// taken (one that arrives late is dropped), and the last good value stays on screen while the
/// next loads or when a load fails. The error says what went wrong (a session that ended signs
/// out, through `Ctx::fail`).
pub fn load<T, Fut>(
    ctx: Ctx,
    fetch: impl Fn() -> Fut + 'static,
) -> (Signal<Option<T>>, RwSignal<Option<String>>)
where
    T: Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, ipc::UiError>> + 'static,
{
    let resource = LocalResource::new(fetch);
    let value = RwSignal::new(None::<T>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| match resource.get() {
        Some(Ok(v)) => {
            error.set(None);
            value.set(Some(v));
        }
        Some(Err(e)) => error.set(Some(ctx.fail(e))),
        None => {}
    });
    (value.into(), error)
}

/// Starts listening (once, for the life of the window).
pub fn start(ctx: Ctx) {
    if !ipc::in_app() {
        return;
    }
    spawn_local(async move {
        on::<event::SyncStateChanged>(move |s| {
            SYNC_EVENTS.with(|n| n.set(n.get() + 1));
            ctx.sync.set(s);
        })
        .await;
        on::<event::Received>(move |e| {
            match &e {
                Event::Typing(t) => presence::on_typing(ctx, t),
                Event::Presence(p) => presence::on_presence(ctx, p),
                Event::Notification(_) => refresh_unread(ctx),
                _ => {}
            }
            ctx.topics.moved(&e);
        })
        .await;
        // A click on an OS notification: what it is about opens; a problem opening it shows
        // on the next screen.
        on::<event::OpenNotification>(move |n| {
            let error = RwSignal::new(None::<String>);
            spawn_local(async move {
                crate::screens::notifications::open_entry(ctx, n, error).await;
                if let Some(e) = error.get_untracked() {
                    ctx.notice.set(Some(e));
                }
            });
        })
        .await;
        on::<event::OutboxChanged>(move |list| {
            OUTBOX_EVENTS.with(|n| n.set(n.get() + 1));
            ctx.outbox.set(list);
        })
        .await;
    });
}

/// Fetches what the header shows: sync state, outbox and unread count.
pub fn refresh_all(ctx: Ctx) {
    snapshot::<cmd::SyncState>(&SYNC_EVENTS, move |s| ctx.sync.set(s));
    refresh_outbox(ctx);
    refresh_unread(ctx);
    presence::refresh_online(ctx);
}

thread_local! {
    /// How many outbox events have arrived: a snapshot asked for before the latest one is older
    /// than what the screen already shows.
    static OUTBOX_EVENTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// The same for the connection's state.
    static SYNC_EVENTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Asks the shell for `C`'s current value and applies it, unless an event counted by `events`
/// arrived while the answer was on its way: the event is newer than the answer. (An outbox
/// snapshot that crossed the event of its item's delivery would show it "sending" for good.)
fn snapshot<C>(
    events: &'static std::thread::LocalKey<std::cell::Cell<u64>>,
    apply: impl FnOnce(Output<C>) + 'static,
) where
    C: Command<Args = NoArgs> + 'static,
{
    let asked_at = events.with(|n| n.get());
    spawn_local(async move {
        if let Ok(value) = ipc::invoke::<C>(&NoArgs {}).await {
            if events.with(|n| n.get()) == asked_at {
                apply(value);
            }
        }
    });
}

/// The outbox as the shell holds it now.
pub fn refresh_outbox(ctx: Ctx) {
    snapshot::<cmd::OutboxItems>(&OUTBOX_EVENTS, move |list| ctx.outbox.set(list));
}

pub fn refresh_unread(ctx: Ctx) {
    spawn_local(async move {
        if let Ok(n) = ipc::invoke::<cmd::UnreadCount>(&NoArgs {}).await {
            ctx.unread.set(n);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use kintara_api::{CaseUpdatedEvent, IncidentStatus, TypingEvent};
    use uuid::Uuid;

    #[test]
    fn a_frame_moves_only_what_it_changes() {
        let case = Event::CaseUpdated(CaseUpdatedEvent {
            incident_id: Uuid::nil(),
            status: IncidentStatus::InProgress,
            case_number: "KIN-1".into(),
        });
        assert_eq!(concerns(&case), &[Topic::Cases]);
        let typing = Event::Typing(TypingEvent {
            room: Uuid::nil(),
            user_id: Uuid::nil(),
            is_typing: true,
            until: None,
        });
        assert!(concerns(&typing).is_empty(), "typing refetches nothing");
        assert_eq!(concerns(&Event::ResyncRequired {}).len(), 3);
    }
}
