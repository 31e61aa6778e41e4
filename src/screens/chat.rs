//! Chat: the rooms list and one room (messages, local echo from the outbox, read marks, composer).
//! Tablet and desktop show both side by side; a phone shows one at a time.

use std::collections::BTreeMap;

use kintara_api::app::{
    cmd, IdArgs, IncidentArgs, OlderArgs, OutboxAction, OutboxItem, RoomArgs, SendArgs,
};
use kintara_api::{ChatMessage, ChatMessagePage, ChatRoom, MessageType};
use leptos::html::Ol;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{ctx, Ctx};
use crate::fields::{Errors, FieldError};
use crate::i18n::{t, tf};
use crate::ipc::{self, NoArgs};
use crate::live::{self, Topic};
use crate::presence;
use crate::screens::room_live::{
    anyone_online, keep_reading, PresenceDot, TypingLine, TypingSender,
};

/// A message to `room` still in the outbox.
fn sending_to(it: &OutboxItem, room: uuid::Uuid) -> bool {
    matches!(&it.action, OutboxAction::SendMessage { room: r, .. } if *r == room)
}

/// Opens the chat room of case `incident`, or says it is not open yet.
pub fn open_case_room(ctx: Ctx, incident: String, error: RwSignal<Option<String>>) {
    spawn_local(async move {
        match ipc::invoke::<cmd::Rooms>(&NoArgs {}).await {
            Ok(rooms) => {
                match rooms
                    .into_iter()
                    .find(|r| r.incident.map(|i| i.to_string()).as_deref() == Some(&incident))
                {
                    Some(r) => ctx.open_room(r.id.to_string()),
                    None => error.set(Some(t("chat.not_open").into())),
                }
            }
            Err(e) => error.set(Some(ctx.fail(e))),
        }
    });
}

/// Staff join the conversation of case `incident` and open it.
pub fn join_case_room(ctx: Ctx, incident: uuid::Uuid, error: RwSignal<Option<String>>) {
    spawn_local(async move {
        match ipc::invoke::<cmd::JoinCaseRoom>(&IncidentArgs { incident }).await {
            Ok(room) => {
                ctx.topics.bump(Topic::Rooms);
                ctx.open_room(room.id.to_string());
            }
            Err(e) => error.set(Some(ctx.fail(e))),
        }
    });
}

/// Opens the direct room with `user` (where the server allows one) and shows it.
pub fn open_direct(ctx: Ctx, user: uuid::Uuid, error: RwSignal<Option<String>>) {
    spawn_local(async move {
        match ipc::invoke::<cmd::DirectChat>(&IdArgs { id: user }).await {
            Ok(room) => {
                ctx.topics.bump(Topic::Rooms);
                ctx.open_room(room.id.to_string());
            }
            Err(e) => error.set(Some(ctx.fail(e))),
        }
    });
}

#[component]
pub fn Chat() -> impl IntoView {
    let ctx = ctx();
    presence::refresh_online(ctx);
    let me = StoredValue::new(ctx.me());
    let (rooms, error) = live::load(ctx, move || {
        // A case's room opens when its case is accepted.
        ctx.topics.track(Topic::Rooms);
        ctx.topics.track(Topic::Cases);
        ctx.outbox.with(|o| o.len());
        async move { ipc::invoke::<cmd::Rooms>(&NoArgs {}).await }
    });
    let selected = move || ctx.room.get();
    view! {
        <div class=move || if selected().is_some() { "chat panes has-detail" } else { "chat panes" }>
            <section class="pane list-pane" aria-labelledby="rooms-title">
                <h2 id="rooms-title">{move || t("chat.conversations")}</h2>
                {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
                <ul id="rooms" class="rooms">
                    {move || rooms.get().unwrap_or_default().into_iter().map(|r| {
                        let id = r.id.to_string();
                        let here = id.clone();
                        let open = id.clone();
                        let last = r.last_message.as_ref().map(preview).unwrap_or_default();
                        let unread = r.unread_count;
                        let people = r.participants.clone();
                        let online = Memo::new(move |_| ctx.online.with(|o| anyone_online(&people, &me.get_value(), o)));
                        view! {
                            <li>
                                <button class="room" data-room=id
                                    aria-current=move || (selected().as_deref() == Some(here.as_str())).then_some("true")
                                    on:click=move |_| ctx.room.set(Some(open.clone()))>
                                    <span class="room-name">
                                        <span class=move || if online.get() { "presence online" } else { "presence" }
                                            role="img" aria-label=move || if online.get() { t("chat.someone_online") } else { t("chat.nobody_online") }></span>
                                        {r.name.clone()}
                                    </span>
                                    {(unread > 0).then(|| view! {
                                        <span class="unread" aria-label=move || tf("chat.unread", &[("n", &unread.to_string())])>{unread}</span>
                                    })}
                                    <span class="room-last">{last}</span>
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {move || rooms.get().is_some_and(|r| r.is_empty()).then(|| view! {
                    <p class="hint empty">{move || t("chat.no_rooms")}</p>
                })}
            </section>
            <section class="pane detail-pane">
                {move || match selected() {
                    Some(id) => view! { <RoomView id=id rooms=rooms/> }.into_any(),
                    None => view! { <p class="hint empty">{move || t("chat.choose")}</p> }.into_any(),
                }}
            </section>
        </div>
    }
}

fn preview(m: &ChatMessage) -> String {
    let text = if m.is_deleted {
        t("chat.deleted").to_owned()
    } else {
        m.content.clone().unwrap_or_default()
    };
    let short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// Within this many pixels of an edge counts as at that edge (a fingertip's slack).
const EDGE_PX: i32 = 48;

/// Keyed by `seq`, so a message fetched twice (a live refresh racing a page of history) shows
/// once, in the room's order, and the later copy (read marks, deletion) wins.
fn by_seq(parts: impl IntoIterator<Item = ChatMessage>) -> Vec<ChatMessage> {
    let mut all = BTreeMap::new();
    for m in parts {
        all.insert(m.seq, m);
    }
    all.into_values().collect()
}

/// The room's newest page merged into what is shown: earlier history already loaded stays above
/// it. When the page does not reach back to what is shown (more arrived meanwhile than a page
/// holds), the gap cannot be seen, so the screen starts again from the newest page. Returns the
/// list and whether older messages exist before its first.
fn merge_newest(
    shown: &[ChatMessage],
    had_older: bool,
    page: ChatMessagePage,
) -> (Vec<ChatMessage>, bool) {
    let page_older = page.previous_cursor.is_some();
    let Some(first) = page.results.first().map(|m| m.seq) else {
        return (Vec::new(), false);
    };
    // A room's seqs count up by one, so the page joins what is shown when it starts at most
    // one after the last shown.
    let joins = shown.last().is_some_and(|m| m.seq + 1 >= first);
    let kept: Vec<ChatMessage> = if joins {
        shown.iter().filter(|m| m.seq < first).cloned().collect()
    } else {
        Vec::new()
    };
    let older = if kept.is_empty() {
        page_older
    } else {
        had_older
    };
    (by_seq(kept.into_iter().chain(page.results)), older)
}

/// A page of history put above what is shown, if it still belongs there (it was asked for
/// before the first shown message, and the list has not started again meanwhile).
fn merge_older(
    shown: &[ChatMessage],
    before: i64,
    page: ChatMessagePage,
) -> Option<(Vec<ChatMessage>, bool)> {
    if shown.first().map(|m| m.seq) != Some(before) {
        return None;
    }
    let older = page.previous_cursor.is_some() && !page.results.is_empty();
    let earlier = page.results.into_iter().filter(|m| m.seq < before);
    Some((by_seq(earlier.chain(shown.iter().cloned())), older))
}

#[component]
fn RoomView(id: String, rooms: Signal<Option<Vec<ChatRoom>>>) -> impl IntoView {
    let ctx = ctx();
    let me = ctx.me();
    let messages = RwSignal::new(None::<Vec<ChatMessage>>);
    // Whether the server has messages before the first shown one.
    let has_older = RwSignal::new(false);
    let loading_older = RwSignal::new(false);
    // What the last step back in history brought, for screen readers; and why it failed.
    let history_note = RwSignal::new(String::new());
    let history_error = RwSignal::new(None::<String>);
    // Whether the reader is at the newest message, so new ones keep it in view; someone reading
    // history is not pulled away from it.
    let at_bottom = StoredValue::new(true);
    let error = RwSignal::new(None::<String>);
    let draft = RwSignal::new(String::new());
    let errors = RwSignal::new(Errors::new());
    let list_ref = NodeRef::<Ol>::new();
    let room_id = StoredValue::new(id.clone());
    let me_v = StoredValue::new(me.clone());
    let typer = TypingSender::new(id.clone());
    keep_reading(id.clone());
    // Opening the room marks it read.
    {
        let room = ipc::id(&id);
        spawn_local(async move {
            let _ = ipc::invoke::<cmd::MarkRoomRead>(&RoomArgs { room }).await;
        });
    }
    // The newest page, as a resource the room's topic refreshes (only the latest answer is
    // taken), merged with the history already shown.
    let room = ipc::id(&room_id.get_value());
    let newest_page = LocalResource::new(move || {
        ctx.topics.track(Topic::Rooms);
        // A message leaving the outbox has reached the server: fetch it.
        ctx.outbox.with(|o| o.len());
        async move { ipc::invoke::<cmd::Messages>(&RoomArgs { room }).await }
    });
    Effect::new(move |_| match newest_page.get() {
        Some(Ok(page)) => {
            let me = me_v.get_value();
            let unseen = page
                .results
                .iter()
                .any(|m| !m.is_read && m.sender.as_ref().is_some_and(|s| s.id.to_string() != me));
            error.set(None);
            let (list, older) = messages.with_untracked(|shown| {
                merge_newest(
                    shown.as_deref().unwrap_or_default(),
                    has_older.get_untracked(),
                    page,
                )
            });
            messages.set(Some(list));
            has_older.set(older);
            if unseen {
                spawn_local(async move {
                    let _ = ipc::invoke::<cmd::MarkRoomRead>(&RoomArgs { room }).await;
                });
            }
        }
        Some(Err(e)) => error.set(Some(ctx.fail(e))),
        None => {}
    });
    // What is at the bottom of the list: the newest message and how many are still sending.
    // History loading above changes neither, so it never scrolls the list.
    let newest = Memo::new(move |_| {
        let last = messages.with(|m| m.as_ref().and_then(|m| m.last().map(|m| m.seq)));
        let room = ipc::id(&room_id.get_value());
        let sending = ctx
            .outbox
            .with(|o| o.iter().filter(|it| sending_to(it, room)).count());
        (last, sending)
    });
    // Keep the newest message in view while the reader is there, and after they send one.
    Effect::new(move |prev: Option<(Option<i64>, usize)>| {
        let now = newest.get();
        let sent = prev.is_some_and(|(_, sending)| now.1 > sending);
        if at_bottom.get_value() || sent {
            // After the list has been drawn (effects run before the next frame).
            request_animation_frame(move || {
                if let Some(el) = list_ref.get_untracked() {
                    el.set_scroll_top(el.scroll_height());
                }
            });
        }
        now
    });
    // One step back in history: the page before the first shown message goes in above it, and
    // what the reader was looking at stays where it was.
    let load_older = move || {
        if loading_older.get_untracked() || !has_older.get_untracked() {
            return;
        }
        let Some(before) =
            messages.with_untracked(|m| m.as_ref().and_then(|m| m.first().map(|m| m.seq)))
        else {
            return;
        };
        loading_older.set(true);
        history_error.set(None);
        spawn_local(async move {
            let args = OlderArgs {
                room: ipc::id(&room_id.get_value()),
                before,
            };
            match ipc::invoke::<cmd::OlderMessages>(&args).await {
                Ok(page) => {
                    let count = page.results.len();
                    // The distance from the bottom does not change when messages go in above,
                    // so keeping it keeps the view still.
                    let from_bottom = list_ref
                        .get_untracked()
                        .map(|el| el.scroll_height() - el.scroll_top());
                    let merged = messages.with_untracked(|shown| {
                        merge_older(shown.as_deref().unwrap_or_default(), before, page)
                    });
                    if let Some((list, older)) = merged {
                        messages.set(Some(list));
                        has_older.set(older);
                        history_note.set(match count {
                            1 => t("chat.older_one").to_owned(),
                            n => tf("chat.older_many", &[("n", &n.to_string())]),
                        });
                        request_animation_frame(move || {
                            if let (Some(el), Some(offset)) =
                                (list_ref.get_untracked(), from_bottom)
                            {
                                el.set_scroll_top(el.scroll_height() - offset);
                            }
                            loading_older.set(false);
                        });
                        return;
                    }
                }
                Err(e) => history_error.set(Some(ctx.fail(e))),
            }
            loading_older.set(false);
        });
    };
    let on_scroll = move |_| {
        let Some(el) = list_ref.get_untracked() else {
            return;
        };
        at_bottom.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < EDGE_PX);
        // Reaching the top asks for the page before; the button does the same for keyboards.
        if el.scroll_top() < EDGE_PX && el.scroll_height() > el.client_height() {
            load_older();
        }
    };
    let has_any = Memo::new(move |_| messages.with(|m| m.as_ref().is_some_and(|m| !m.is_empty())));
    let room = move || {
        let id = room_id.get_value();
        rooms
            .get()
            .and_then(|l| l.into_iter().find(|r| r.id.to_string() == id))
    };
    let read_only = move || room().is_some_and(|r| r.read_only || !r.is_active);
    let others = Signal::derive(move || {
        let me = me_v.get_value();
        room()
            .map(|r| r.participants)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.id.to_string() != me)
            .collect::<Vec<_>>()
    });
    let pending = move || {
        let id = ipc::id(&room_id.get_value());
        let sent: Vec<String> = messages.with(|m| {
            m.iter()
                .flatten()
                .filter_map(|m| m.client_id.clone())
                .collect()
        });
        ctx.outbox
            .get()
            .into_iter()
            .filter(move |it| sending_to(it, id) && !sent.contains(&it.client_id))
    };
    // Queued in the outbox: the message shows as sending until the server has it.
    let sending = ipc::action::<cmd::SendMessage>();
    Effect::new(move |_| match sending.value().get() {
        Some(Ok(_)) => draft.set(String::new()),
        Some(Err(e)) if !e.fields.is_empty() => errors.set(e.fields),
        Some(Err(e)) => error.set(Some(ctx.fail(e))),
        None => {}
    });
    // Survivors block someone in the room: nothing of theirs reaches her after.
    let survivor = move || {
        ctx.user
            .with(|u| u.as_ref().map(|u| u.role) == Some(kintara_api::Role::Survivor))
    };
    let confirm_block = RwSignal::new(None::<(uuid::Uuid, String)>);
    // Staff who joined a case's conversation may leave it (the others stay in theirs).
    let staff = move || {
        ctx.user.with(|u| {
            u.as_ref().is_some_and(|u| {
                matches!(
                    u.role,
                    kintara_api::Role::Dispatcher | kintara_api::Role::Admin
                )
            })
        })
    };
    let in_case_room = move || room().is_some_and(|r| r.room_type == kintara_api::RoomType::Case);
    let leave = move |_| {
        let room = ipc::id(&room_id.get_value());
        spawn_local(async move {
            match ipc::invoke::<cmd::LeaveRoom>(&RoomArgs { room }).await {
                Ok(()) => {
                    ctx.room.set(None);
                    ctx.topics.bump(Topic::Rooms);
                }
                Err(e) => error.set(Some(ctx.fail(e))),
            }
        });
    };
    let block = move |user: uuid::Uuid| {
        confirm_block.set(None);
        spawn_local(async move {
            match ipc::invoke::<cmd::BlockUser>(&kintara_api::BlockRequest { user_id: user }).await
            {
                Ok(_) => {
                    ctx.notice.set(Some(t("chat.blocked").into()));
                    ctx.room.set(None);
                }
                Err(e) => error.set(Some(ctx.fail(e))),
            }
        })
    };
    let send = move || {
        let content = draft.get_untracked();
        if content.trim().is_empty() {
            return;
        }
        errors.set(Errors::new());
        typer.stopped();
        sending.dispatch(SendArgs {
            room: ipc::id(&room_id.get_value()),
            content,
        });
    };
    view! {
        <div id="room" class="room-view" data-room=id>
            <header class="room-head">
                <button class="link back" aria-label=move || t("chat.back") on:click=move |_| ctx.room.set(None)>"‹"</button>
                <h2>{move || room().map(|r| r.name).unwrap_or_else(|| t("chat.conversation").into())}</h2>
                <ul class="participants" aria-label=move || t("chat.people")>
                    {move || others.get().into_iter().map(|p| {
                        let user = p.id;
                        let name = p.full_name.clone();
                        view! {
                            <li class="participant" data-user=p.id.to_string()>
                                <PresenceDot user=p.id.to_string()/>
                                <span class="participant-name">{p.full_name.clone()}</span>
                                {survivor().then(|| view! {
                                    <button class="block-user link" type="button"
                                        on:click=move |_| confirm_block.set(Some((user, name.clone())))>
                                        {move || t("chat.block")}
                                    </button>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {move || (staff() && in_case_room()).then(|| view! {
                    <button id="leave-room" class="link" type="button" on:click=leave>{move || t("chat.leave")}</button>
                })}
                {move || confirm_block.get().map(|(user, name)| view! {
                    <div id="block-confirm" class="error-banner" role="alertdialog">
                        <p>{tf("chat.block_confirm", &[("name", &name)])}</p>
                        <button id="block-yes" class="primary" on:click=move |_| block(user)>
                            {move || t("chat.block")}
                        </button>
                        <button id="block-no" class="secondary" on:click=move |_| confirm_block.set(None)>
                            {move || t("chat.cancel")}
                        </button>
                    </div>
                })}
            </header>
            {move || read_only().then(|| view! {
                <p class="read-only-banner" role="status">{move || t("chat.closed")}</p>
            })}
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            // Always in the page, so a screen reader hears each change of its text.
            <p id="history-note" class="sr-only" role="status">{move || history_note.get()}</p>
            // Busy while history goes in above, so screen readers do not read out a page of old
            // messages as if they were new; the note above says what happened instead.
            <ol class="messages" node_ref=list_ref aria-live="polite"
                aria-busy=move || loading_older.get().then_some("true")
                on:scroll=on_scroll>
                {move || has_any.get().then(|| {
                    if has_older.get() {
                        view! {
                            <li class="history">
                                <button id="load-older" type="button" class="link"
                                    aria-disabled=move || loading_older.get().then_some("true")
                                    on:click=move |_| load_older()>
                                    {move || if loading_older.get() { t("chat.loading_older") } else { t("chat.load_older") }}
                                </button>
                                {move || history_error.get().map(|e| view! { <span class="history-error" role="alert">{e}</span> })}
                            </li>
                        }.into_any()
                    } else {
                        view! {
                            <li id="history-start" class="history">{move || t("chat.beginning")}</li>
                        }.into_any()
                    }
                })}
                {move || messages.get().unwrap_or_default().into_iter().map(|m| {
                    let me = me_v.get_value();
                    let mine = m.sender.as_ref().is_some_and(|s| s.id.to_string() == me);
                    let system = m.sender.is_none() || m.message_type != MessageType::UserMessage;
                    let read = mine && m.read_by.iter().any(|u| u.to_string() != me);
                    let class = format!(
                        "message{}{}",
                        if mine { " mine" } else { "" },
                        if system { " system" } else { "" }
                    );
                    let who = m.sender.as_ref().map(|s| s.full_name.clone());
                    view! {
                        <li class=class data-id=m.id.to_string()>
                            {(!mine && !system).then(|| who.map(|w| view! { <span class="who">{w}</span> }))}
                            <span class="text">{if m.is_deleted {
                                (move || t("chat.deleted")).into_any()
                            } else {
                                m.content.clone().unwrap_or_default().into_any()
                            }}</span>
                            <span class="when">{m.created_at.format("%H:%M").to_string()}
                                {read.then(|| view! { " · " <span class="read-mark">{move || t("chat.read")}</span> })}
                            </span>
                        </li>
                    }
                }).collect_view()}
                {move || pending().map(|it| {
                    let failed = it.is_failed();
                    let content = match &it.action {
                        OutboxAction::SendMessage { content, .. } => content.clone(),
                        _ => String::new(),
                    };
                    view! {
                        <li class=if failed { "message mine failed" } else { "message mine sending" } data-client=it.client_id.clone()>
                            <span class="text">{content}</span>
                            <span class="when">{
                                let why = it.last_error.clone().unwrap_or_default();
                                move || if failed {
                                    tf("chat.not_sent", &[("error", &why)])
                                } else {
                                    t("chat.sending").to_owned()
                                }
                            }</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
            {move || messages.get().is_some_and(|m| m.is_empty()).then(|| view! { <p class="hint empty">{move || t("chat.no_messages")}</p> })}
            <TypingLine room=room_id.get_value() participants=others/>
            <form class="composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
                <label for="composer" class="sr-only">{move || t("chat.message")}</label>
                <textarea id="composer" rows="2" placeholder=move || t("chat.placeholder")
                    disabled=read_only
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        typer.typed();
                    }
                    on:blur=move |_| typer.stopped()
                    on:keydown=move |ev| {
                        // Ctrl+Enter (or Cmd+Enter) sends; Enter alone makes a new line.
                        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                            ev.prevent_default();
                            send();
                        }
                    }></textarea>
                <button id="send" type="submit" class="primary-sm" disabled=read_only>{move || t("chat.send")}</button>
            </form>
            <FieldError errors=errors field="content"/>
        </div>
    }
}
