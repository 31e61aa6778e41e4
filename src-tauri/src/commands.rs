//! Tauri commands: each one calls the core and maps its error. No logic lives here.

use std::sync::Arc;

use kintara_api::app::{
    cmd, AppInfo, Args, EvidenceLimits, Filed, Output, SyncStatus, UiErrorKind,
};
use kintara_api::{
    AssignRequest, ChatMessage, ChatMessagePage, FieldError, FieldErrors, SendMessage, Validate,
};
use kintara_core::{Attachment, Client, CoreError, ErrorClass, OutboxAction, OutboxState};
use tauri::State;

use crate::live;
use crate::ui_error::UiError;
use crate::AppState;

/// What the UI needs to pick its first screen.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> Output<cmd::AppInfo> {
    let client = state.client();
    AppInfo {
        server_url: client.base_url().to_string(),
        user: client.current_user(),
    }
}

/// Points the app at another server after checking that it answers. Signs out of the old one.
#[tauri::command]
pub async fn set_server(
    state: State<'_, AppState>,
    args: Args<cmd::SetServer>,
) -> Result<Output<cmd::SetServer>, UiError> {
    let url = args.url;
    let candidate = Client::new(&url, Arc::new(kintara_core::MemoryStore::default()))?;
    let health = candidate.health().await?;
    let current = state.client();
    if current.base_url() != candidate.base_url() {
        current.logout().await?;
        let client = Client::new(candidate.base_url().as_str(), state.store.clone())?;
        state
            .store
            .set_server_url(client.base_url().as_str())
            .map_err(|e| UiError::other(e.0))?;
        *state.client.write().expect("not poisoned") = Arc::new(client);
    }
    Ok(health)
}

#[tauri::command]
pub async fn register(
    state: State<'_, AppState>,
    args: Args<cmd::Register>,
) -> Result<Output<cmd::Register>, UiError> {
    let request = args;
    let user = state.client().register(&request).await?;
    Ok(with_language(&state.client(), user).await)
}

/// `user` after telling the server the app's language, when it has another: what leaves the app
/// for her (push, e-mail, WhatsApp) is then written in the language she reads. Best effort: a
/// failure leaves the server's, and the next sign-in or switch tries again.
async fn with_language(
    client: &kintara_core::Client,
    user: kintara_api::User,
) -> kintara_api::User {
    let lang = crate::ui_error::language().wire();
    if user.language == lang {
        return user;
    }
    let req = kintara_api::UpdateMeRequest {
        language: Some(lang),
        ..Default::default()
    };
    match client.update_me(&req).await {
        Ok(updated) => updated,
        Err(e) => {
            tracing::debug!(error = %e, "the server keeps its language for now");
            user
        }
    }
}

#[tauri::command]
pub async fn login(
    state: State<'_, AppState>,
    args: Args<cmd::Login>,
) -> Result<Output<cmd::Login>, UiError> {
    let (email, password) = (args.email, args.password);
    let user = state.client().login(&email, &password).await?;
    let user = with_language(&state.client(), user).await;
    state.go_live().await;
    Ok(user)
}

#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> Result<Output<cmd::Logout>, UiError> {
    // Offline at once for the others, if the server answers soon; sign-out never waits on it.
    let client = state.client();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), client.mark_offline()).await;
    // The OS forgets this device's push token too (the server drops its copy with the
    // session), so nothing more is pushed here for this account. Desktop has none.
    let app = state.app.clone();
    let unregistered = tauri::async_runtime::spawn_blocking(move || {
        use tauri_plugin_push::PushExt;
        app.push().unregister()
    });
    if let Ok(Ok(Err(e))) =
        tokio::time::timeout(std::time::Duration::from_secs(2), unregistered).await
    {
        tracing::debug!(error = %e, "no push token to unregister");
    }
    // Local data goes even when the server cannot be told.
    state.stop_live(true).await;
    Ok(state.client().logout().await?)
}

/// The language the UI now shows (`en`, `sw`): refusals and OS notifications are worded in it.
#[tauri::command]
pub async fn set_language(
    state: State<'_, AppState>,
    args: Args<cmd::SetLanguage>,
) -> Result<Output<cmd::SetLanguage>, UiError> {
    let lang = kintara_i18n::Lang::from_code(&args.lang)
        .ok_or_else(|| UiError::other("This app speaks English and Swahili."))?;
    crate::ui_error::set_language(lang);
    // The switch shows at once; the server hears of it when the network lets it.
    let client = state.client();
    if let Some(user) = client.current_user() {
        tauri::async_runtime::spawn(async move {
            with_language(&client, user).await;
        });
    }
    Ok(())
}

/// How long `file_report` waits for the server before telling the survivor her report is kept
/// on the device: long enough for a working connection, short enough not to leave her waiting.
const REPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[tauri::command]
/// The limits on a report's files, for the wizard to check before it reads a file: the core's
/// (which `file_report` applies again) and `kintara-api`'s, the server's largest.
pub fn evidence_limits() -> Output<cmd::EvidenceLimits> {
    EvidenceLimits {
        max_files: kintara_core::MAX_ATTACHMENTS,
        max_bytes: kintara_api::MAX_EVIDENCE_BYTES,
    }
}

/// Files a report through the outbox: it is stored on the device (sealed) before any network
/// call, then this waits briefly for the outbox's first answer. A permanent refusal (the
/// server's validation) comes back as the server's field errors, and the queued copy is
/// discarded: the wizard still holds the draft, so the survivor fixes it there and sends again,
/// instead of finding a failed item to clear in the outbox.
///
/// Her files go into the outbox with the report, in the same step (copied into the sealed store
/// now, so they survive a restart or no connection), and follow it to the case once it exists.
/// A file the core refuses (empty, too large, too many) refuses the whole report, with nothing
/// queued, so she can change the list and send again.
///
/// The report and its files come as one raw body (`kintara_api::upload`), not JSON: a file's
/// bytes as JSON numbers took seconds per megabyte to cross.
#[tauri::command]
pub async fn file_report(
    state: State<'_, AppState>,
    request: tauri::ipc::Request<'_>,
) -> Result<Output<cmd::FileReport>, UiError> {
    let tauri::ipc::InvokeBody::Raw(body) = request.body() else {
        return Err(UiError::other(
            "Your report could not be saved: it did not reach the app whole.",
        ));
    };
    let (report, files) = kintara_api::upload::decode(body)
        .map_err(|e| UiError::other(format!("Your report could not be saved: {e}")))?;
    let attachments = files
        .into_iter()
        .map(|f| Attachment::new(&f.file_name, None, f.bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UiError::other(format!("Your report could not be saved: {e}")))?;
    let outbox = {
        let live = state.live.lock().await;
        let l = live
            .as_ref()
            .ok_or_else(|| UiError::text(UiErrorKind::Other, "error.sign_in_do"))?;
        l.account.outbox.clone()
    };
    // Listening before the report is queued, so no outcome can slip past.
    let mut delivered = outbox.events();
    let mut refusals = outbox.refusals();
    let mut view = outbox.subscribe();
    let queued = outbox
        .enqueue_report(report, attachments)
        .await
        .map_err(|e| UiError::other(format!("Your report could not be saved: {e}")))?;
    let (id, client_id) = (queued[0].id, queued[0].client_id.clone());
    let deadline = tokio::time::Instant::now() + REPORT_WAIT;
    loop {
        tokio::select! {
            event = delivered.recv() => match event {
                Ok(kintara_core::OutboxEvent::Delivered { client_id: c, result_json })
                    if c == client_id =>
                {
                    return Ok(match serde_json::from_str(&result_json) {
                        Ok(incident) => Filed::Sent { incident },
                        // Delivered, but without the case in the answer: "My reports" has it.
                        Err(_) => Filed::Queued,
                    });
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return Ok(Filed::Queued),
            },
            refusal = refusals.recv() => match refusal {
                Ok((c, error)) if c == client_id => {
                    outbox.discard(id).await?;
                    return Err(refused(&error));
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return Ok(Filed::Queued),
            },
            changed = view.changed() => {
                if changed.is_err() {
                    return Ok(Filed::Queued);
                }
                // A try that ended without an answer (offline, server down or busy): the outbox
                // keeps trying; waiting out the rest of the time would tell her nothing more.
                let tried = view
                    .borrow_and_update()
                    .iter()
                    .any(|i| i.id == id && i.state == OutboxState::Queued && i.attempts > 0);
                if tried {
                    return Ok(Filed::Queued);
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(Filed::Queued),
        }
    }
}

/// The server's refusal of a report as the form shows it (its field errors included).
fn refused(error: &CoreError) -> UiError {
    match error {
        CoreError::Api {
            status,
            envelope,
            retry_after,
        } => UiError::from(CoreError::Api {
            status: *status,
            envelope: envelope.clone(),
            retry_after: *retry_after,
        }),
        other => UiError::other(other.to_string()),
    }
}

#[tauri::command]
pub async fn list_incidents(
    state: State<'_, AppState>,
) -> Result<Output<cmd::ListIncidents>, UiError> {
    Ok(state.client().list_incidents().await?)
}

// ---- the signed-in runtime: connection state, chat, cases, notifications, the outbox ----

/// What the connection is doing: "connecting", "online", "polling", "offline", "logged_out".
#[tauri::command]
pub async fn sync_state(state: State<'_, AppState>) -> Result<Output<cmd::SyncState>, UiError> {
    let live = state.live.lock().await;
    Ok(match live.as_ref() {
        Some(l) => live::state_label(&l.account.sync.state().borrow()),
        None => SyncStatus::LoggedOut,
    })
}

/// The caller's rooms: from the server, or from the device's cache when offline.
#[tauri::command]
pub async fn rooms(state: State<'_, AppState>) -> Result<Output<cmd::Rooms>, UiError> {
    match state.client().rooms().await {
        Ok(list) => Ok(list.results),
        Err(e) if e.class() == ErrorClass::Network => Ok(state.cache().await?.rooms().await?),
        Err(e) => Err(e.into()),
    }
}

/// How many messages a room shows when it opens.
const NEWEST_PAGE: u32 = 100;
/// How many earlier messages one step back in a room's history brings.
const OLDER_PAGE: u32 = 50;

/// Cached messages as a page: `previous_cursor` says whether older ones exist (seqs count from
/// 1 in every room), so the screen offers to load them once the server is back.
fn cached_page(results: Vec<ChatMessage>) -> ChatMessagePage {
    let previous_cursor = results
        .first()
        .filter(|m| m.seq > 1)
        .map(|m| m.seq.to_string());
    ChatMessagePage {
        results,
        next: None,
        previous: None,
        next_cursor: None,
        previous_cursor,
    }
}

/// A room's newest page, oldest first (offline: the cached ones); `previous_cursor` is set when
/// there is more history.
#[tauri::command]
pub async fn messages(
    state: State<'_, AppState>,
    args: Args<cmd::Messages>,
) -> Result<Output<cmd::Messages>, UiError> {
    let room = args.room;
    match state.client().messages(room, None, NEWEST_PAGE).await {
        Ok(page) => Ok(page),
        Err(e) if e.class() == ErrorClass::Network => {
            Ok(cached_page(state.cache().await?.messages(room).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// One page of a room's history before the message numbered `before`, oldest first. Offline it
/// answers with what the device's cache holds from there, and says so when that is nothing.
#[tauri::command]
pub async fn older_messages(
    state: State<'_, AppState>,
    args: Args<cmd::OlderMessages>,
) -> Result<Output<cmd::OlderMessages>, UiError> {
    let (room, before) = (args.room, args.before);
    if before < 1 {
        let min_one = FieldError::OutOfRange {
            min: 1,
            max: i64::MAX,
        };
        return Err(UiError::validation(FieldErrors::one("before", min_one)));
    }
    match state
        .client()
        .older_messages(room, before, OLDER_PAGE)
        .await
    {
        Ok(page) => Ok(page),
        Err(e) if e.class() == ErrorClass::Network => {
            older_from_cache(state.cache().await?.messages(room).await?, before)
        }
        Err(e) => Err(e.into()),
    }
}

/// Offline, a step back in history: the cached messages just before `before`, as many as the
/// server would send, or an offline error when the cache holds none of them.
fn older_from_cache(cached: Vec<ChatMessage>, before: i64) -> Result<ChatMessagePage, UiError> {
    let older: Vec<ChatMessage> = cached.into_iter().filter(|m| m.seq < before).collect();
    let skip = older.len().saturating_sub(OLDER_PAGE as usize);
    let older: Vec<ChatMessage> = older.into_iter().skip(skip).collect();
    if older.is_empty() {
        return Err(UiError::new(
            UiErrorKind::Network,
            "You are offline: earlier messages load once the connection is back.",
        ));
    }
    Ok(cached_page(older))
}

/// Queues a message in the outbox; it shows as "sending" until the server has it.
#[tauri::command]
pub async fn send_message(
    state: State<'_, AppState>,
    args: Args<cmd::SendMessage>,
) -> Result<Output<cmd::SendMessage>, UiError> {
    let (room, content) = (args.room, args.content);
    let request = SendMessage {
        room,
        content,
        client_id: None,
    };
    request.validate().map_err(UiError::validation)?;
    state
        .enqueue(OutboxAction::SendMessage {
            room,
            content: request.content,
        })
        .await
}

#[tauri::command]
pub async fn mark_room_read(
    state: State<'_, AppState>,
    args: Args<cmd::MarkRoomRead>,
) -> Result<Output<cmd::MarkRoomRead>, UiError> {
    let room = args.room;
    state.client().mark_room_read(room).await?;
    Ok(())
}

#[tauri::command]
pub async fn notifications(
    state: State<'_, AppState>,
    args: Args<cmd::Notifications>,
) -> Result<Output<cmd::Notifications>, UiError> {
    match state.client().notifications(args.page).await {
        Ok(page) => Ok(page),
        // Offline, the first page is what this device kept; there is no older one to offer.
        Err(e) if e.class() == ErrorClass::Network && args.page <= 1 => {
            let results = state.cache().await?.notifications().await?;
            Ok(kintara_api::NotificationPage {
                count: results.len() as i64,
                next: None,
                previous: None,
                results,
            })
        }
        Err(e) => Err(e.into()),
    }
}

#[tauri::command]
pub async fn unread_count(state: State<'_, AppState>) -> Result<Output<cmd::UnreadCount>, UiError> {
    Ok(state.client().unread_notifications().await?.count)
}

#[tauri::command]
pub async fn mark_notification_read(
    state: State<'_, AppState>,
    args: Args<cmd::MarkNotificationRead>,
) -> Result<Output<cmd::MarkNotificationRead>, UiError> {
    let id = args.id;
    state.client().mark_notification_read(id).await?;
    Ok(())
}

#[tauri::command]
pub async fn mark_all_notifications_read(
    state: State<'_, AppState>,
) -> Result<Output<cmd::MarkAllNotificationsRead>, UiError> {
    state.client().mark_all_notifications_read().await?;
    Ok(())
}

/// Settings → Notifications: the channels of each type, and those the server offers.
#[tauri::command]
pub async fn notification_settings(
    state: State<'_, AppState>,
) -> Result<Output<cmd::NotificationSettings>, UiError> {
    Ok(state.client().notification_preferences().await?)
}

#[tauri::command]
pub async fn set_notification_channels(
    state: State<'_, AppState>,
    args: Args<cmd::SetNotificationChannels>,
) -> Result<Output<cmd::SetNotificationChannels>, UiError> {
    let prefs = args;
    Ok(state.client().put_notification_preferences(&prefs).await?)
}

/// "Send me a test" on every channel the user chose.
#[tauri::command]
pub async fn send_test_notification(
    state: State<'_, AppState>,
) -> Result<Output<cmd::SendTestNotification>, UiError> {
    Ok(state.client().send_test_notification().await?)
}

/// Changes the profile (the WhatsApp number, from Settings → Notifications).
#[tauri::command]
pub async fn update_profile(
    state: State<'_, AppState>,
    args: Args<cmd::UpdateProfile>,
) -> Result<Output<cmd::UpdateProfile>, UiError> {
    let req = args;
    Ok(state.client().update_me(&req).await?)
}

/// Providers: cases offered to or accepted by the caller.
#[tauri::command]
pub async fn assigned_cases(
    state: State<'_, AppState>,
) -> Result<Output<cmd::AssignedCases>, UiError> {
    Ok(state.client().assigned_cases().await?)
}

/// Providers: accept, or decline with a reason; through the outbox.
#[tauri::command]
pub async fn answer_assignment(
    state: State<'_, AppState>,
    args: Args<cmd::AnswerAssignment>,
) -> Result<Output<cmd::AnswerAssignment>, UiError> {
    let (incident, accepted, reason) = (args.incident, args.accepted, args.reason);
    let action = if accepted {
        OutboxAction::Accept {
            incident,
            notes: reason,
        }
    } else {
        let reason = reason.unwrap_or_default();
        if reason.trim().is_empty() {
            let needed = FieldErrors::one("reason", FieldError::Required {});
            return Err(UiError::validation(needed));
        }
        OutboxAction::Reject { incident, reason }
    };
    state.enqueue(action).await
}

/// Providers: move an accepted case on (completed, closed); through the outbox.
#[tauri::command]
pub async fn update_case_status(
    state: State<'_, AppState>,
    args: Args<cmd::UpdateCaseStatus>,
) -> Result<Output<cmd::UpdateCaseStatus>, UiError> {
    let (incident, request) = (args.incident, args.request);
    state
        .enqueue(OutboxAction::UpdateStatus { incident, request })
        .await
}

#[tauri::command]
pub async fn dashboard(state: State<'_, AppState>) -> Result<Output<cmd::Dashboard>, UiError> {
    Ok(state.client().dashboard().await?)
}

/// Dispatchers: cases, newest first; `status` filters (the queue is
/// "pending_dispatcher_review").
#[tauri::command]
pub async fn dispatch_cases(
    state: State<'_, AppState>,
    args: Args<cmd::DispatchCases>,
) -> Result<Output<cmd::DispatchCases>, UiError> {
    let status = args.status;
    Ok(state
        .client()
        .dispatch_cases(status.map(|s| s.as_str()))
        .await?)
}

#[tauri::command]
pub async fn recommendations(
    state: State<'_, AppState>,
    args: Args<cmd::Recommendations>,
) -> Result<Output<cmd::Recommendations>, UiError> {
    let incident = args.incident;
    Ok(state.client().recommendations(incident).await?)
}

/// Dispatchers: offer a case to providers (all or nothing).
#[tauri::command]
pub async fn assign(
    state: State<'_, AppState>,
    args: Args<cmd::Assign>,
) -> Result<Output<cmd::Assign>, UiError> {
    let (incident, provider_ids) = (args.incident, args.provider_ids);
    // The server's rules, checked before the request is queued.
    let request: AssignRequest =
        serde_json::from_value(serde_json::json!({ "provider_ids": provider_ids.clone() }))
            .map_err(|e| UiError::other(e.to_string()))?;
    request.validate().map_err(UiError::validation)?;
    state
        .enqueue(OutboxAction::Assign {
            incident,
            provider_ids,
        })
        .await
}

/// Dispatchers: close a completed case or reopen a closed one, through the outbox.
#[tauri::command]
pub async fn decide(
    state: State<'_, AppState>,
    args: Args<cmd::Decide>,
) -> Result<Output<cmd::Decide>, UiError> {
    let request = kintara_api::CaseDecisionRequest {
        reason: args.reason.trim().to_owned(),
    };
    request.validate().map_err(UiError::validation)?;
    state
        .enqueue(OutboxAction::Decide {
            incident: args.incident,
            decision: args.decision,
            reason: request.reason,
        })
        .await
}

/// The survivor changes her report (what the server allows), through the outbox.
#[tauri::command]
pub async fn edit_report(
    state: State<'_, AppState>,
    args: Args<cmd::EditReport>,
) -> Result<Output<cmd::EditReport>, UiError> {
    args.patch.validate().map_err(UiError::validation)?;
    state
        .enqueue(OutboxAction::EditReport {
            incident: args.incident,
            patch: args.patch,
        })
        .await
}

/// The survivor withdraws her report, through the outbox.
#[tauri::command]
pub async fn withdraw_report(
    state: State<'_, AppState>,
    args: Args<cmd::WithdrawReport>,
) -> Result<Output<cmd::WithdrawReport>, UiError> {
    state
        .enqueue(OutboxAction::WithdrawReport {
            incident: args.incident,
        })
        .await
}

/// Staff join a case's conversation.
#[tauri::command]
pub async fn join_case_room(
    state: State<'_, AppState>,
    args: Args<cmd::JoinCaseRoom>,
) -> Result<Output<cmd::JoinCaseRoom>, UiError> {
    Ok(state.client().join_case_room(args.incident).await?)
}

#[tauri::command]
pub async fn leave_room(
    state: State<'_, AppState>,
    args: Args<cmd::LeaveRoom>,
) -> Result<Output<cmd::LeaveRoom>, UiError> {
    Ok(state.client().leave_room(args.room).await?)
}

/// A direct room with someone the server allows (`id` is theirs).
#[tauri::command]
pub async fn direct_chat(
    state: State<'_, AppState>,
    args: Args<cmd::DirectChat>,
) -> Result<Output<cmd::DirectChat>, UiError> {
    Ok(state.client().direct_chat(args.id).await?)
}

/// A case's evidence, as the server lets the caller see it.
#[tauri::command]
pub async fn case_evidence(
    state: State<'_, AppState>,
    args: Args<cmd::CaseEvidence>,
) -> Result<Output<cmd::CaseEvidence>, UiError> {
    Ok(state.client().list_evidence(args.incident).await?)
}

/// An evidence file's bytes, straight to the UI as a binary answer: held in memory only.
#[tauri::command]
pub async fn evidence_file(
    state: State<'_, AppState>,
    args: Args<cmd::EvidenceFile>,
) -> Result<tauri::ipc::Response, UiError> {
    let bytes = state.client().download_evidence(args.id).await?;
    Ok(tauri::ipc::Response::new(bytes))
}

/// Opens an evidence document with the system's viewer (`open`).
#[tauri::command]
pub async fn open_evidence(
    state: State<'_, AppState>,
    args: Args<cmd::OpenEvidence>,
) -> Result<Output<cmd::OpenEvidence>, UiError> {
    let bytes = state.client().download_evidence(args.id).await?;
    crate::open::open_document(&state.data_dir, args.id, &args.file_name, &bytes)
}

/// Opens a place in the system's map or browser.
#[tauri::command]
pub fn open_map(args: Args<cmd::OpenMap>) -> Result<Output<cmd::OpenMap>, UiError> {
    crate::open::open_map(args.latitude, args.longitude)
}

#[tauri::command]
pub async fn outbox_items(state: State<'_, AppState>) -> Result<Output<cmd::OutboxItems>, UiError> {
    let live = state.live.lock().await;
    match live.as_ref() {
        Some(l) => Ok(l.account.outbox.items().await?),
        None => Ok(Vec::new()),
    }
}

#[tauri::command]
pub async fn outbox_retry(
    state: State<'_, AppState>,
    args: Args<cmd::OutboxRetry>,
) -> Result<Output<cmd::OutboxRetry>, UiError> {
    let id = args.id;
    if let Some(l) = state.live.lock().await.as_ref() {
        l.account.outbox.retry(id).await?;
    }
    Ok(())
}

#[tauri::command]
pub async fn outbox_discard(
    state: State<'_, AppState>,
    args: Args<cmd::OutboxDiscard>,
) -> Result<Output<cmd::OutboxDiscard>, UiError> {
    let id = args.id;
    if let Some(l) = state.live.lock().await.as_ref() {
        l.account.outbox.discard(id).await?;
    }
    Ok(())
}

// ---- typing, presence, availability, the provider directory, reassignment ----

/// Tells the room's others that the caller is typing or stopped (ignored by the server when the
/// caller does not share typing).
#[tauri::command]
pub async fn typing(
    state: State<'_, AppState>,
    args: Args<cmd::Typing>,
) -> Result<Output<cmd::Typing>, UiError> {
    let (room, is_typing) = (args.room, args.is_typing);
    state.client().typing(room, is_typing).await?;
    Ok(())
}

/// Keeps the caller online; `room` is the room on screen (no notifications for what is read there).
#[tauri::command]
pub async fn heartbeat(
    state: State<'_, AppState>,
    args: Args<cmd::Heartbeat>,
) -> Result<Output<cmd::Heartbeat>, UiError> {
    let room = args.room;
    state.client().heartbeat(room).await?;
    Ok(())
}

/// Ids of people who share a room with the caller and are online.
#[tauri::command]
pub async fn online_users(state: State<'_, AppState>) -> Result<Output<cmd::OnlineUsers>, UiError> {
    Ok(state.client().online_users().await?.online_users)
}

/// Providers: whether the server offers them new cases, so every device shows the same switch.
#[tauri::command]
pub async fn availability(
    state: State<'_, AppState>,
) -> Result<Output<cmd::Availability>, UiError> {
    Ok(state.client().availability().await?)
}

/// Providers: available for new cases, or not.
#[tauri::command]
pub async fn set_availability(
    state: State<'_, AppState>,
    args: Args<cmd::SetAvailability>,
) -> Result<Output<cmd::SetAvailability>, UiError> {
    let available = args.available;
    Ok(state.client().set_availability(available).await?)
}

/// Dispatchers: every provider with availability and load.
#[tauri::command]
pub async fn dispatch_providers(
    state: State<'_, AppState>,
) -> Result<Output<cmd::DispatchProviders>, UiError> {
    Ok(state.client().dispatch_providers().await?)
}

/// Dispatchers: move a case to another provider, saying why.
#[tauri::command]
pub async fn reassign(
    state: State<'_, AppState>,
    args: Args<cmd::Reassign>,
) -> Result<Output<cmd::Reassign>, UiError> {
    let (incident, new_provider_id, reason) = (args.incident, args.new_provider_id, args.reason);
    let request = kintara_api::ReassignRequest {
        new_provider_id,
        from_provider_id: None,
        reason,
    };
    request.validate().map_err(UiError::validation)?;
    state
        .enqueue(OutboxAction::Reassign {
            incident,
            new_provider_id,
            reason: request.reason,
        })
        .await
}

/// What the caller shares in chat (read receipts, typing, presence).
#[tauri::command]
pub async fn chat_settings(
    state: State<'_, AppState>,
) -> Result<Output<cmd::ChatSettings>, UiError> {
    Ok(state.client().chat_settings().await?)
}

/// Saves what the caller shares in chat.
#[tauri::command]
pub async fn set_chat_settings(
    state: State<'_, AppState>,
    args: Args<cmd::SetChatSettings>,
) -> Result<Output<cmd::SetChatSettings>, UiError> {
    let settings = args;
    Ok(state.client().put_chat_settings(&settings).await?)
}

/// A case's status changes, oldest first.
#[tauri::command]
pub async fn timeline(
    state: State<'_, AppState>,
    args: Args<cmd::Timeline>,
) -> Result<Output<cmd::Timeline>, UiError> {
    let incident = args.incident;
    Ok(state.client().timeline(incident).await?)
}

/// Whether the app shows itself as "Notes".
#[tauri::command]
pub fn disguise(state: State<'_, AppState>) -> Output<cmd::Disguise> {
    state.store.disguised()
}

/// Shows the app as "Notes" (window title, header, OS notification titles), or as itself.
#[tauri::command]
pub fn set_disguise(
    state: State<'_, AppState>,
    args: Args<cmd::SetDisguise>,
) -> Result<Output<cmd::SetDisguise>, UiError> {
    let on = args.on;
    state
        .store
        .set_disguised(on)
        .map_err(|e| UiError::other(e.0))?;
    crate::apply_disguise(&state.app, on);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64) -> ChatMessage {
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::new_v4(), "room": uuid::Uuid::nil(), "seq": seq, "sender": null,
            "message_type": "system_event", "content": format!("m{seq}"),
            "created_at": "2026-11-22T10:00:00Z", "is_read": true, "read_by": [],
            "is_deleted": false
        }))
        .expect("a message")
    }

    fn seqs(page: &ChatMessagePage) -> Vec<i64> {
        page.results.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn offline_history_comes_from_the_cache_a_page_at_a_time() {
        // The cache keeps a room's recent messages: here 41 to 200.
        let cached: Vec<ChatMessage> = (41..=200).map(message).collect();
        let page = older_from_cache(cached.clone(), 101).expect("cached history");
        assert_eq!(seqs(&page), (51..=100).collect::<Vec<_>>());
        assert_eq!(page.previous_cursor.as_deref(), Some("51"));
        let page = older_from_cache(cached.clone(), 51).expect("cached history");
        assert_eq!(seqs(&page), (41..=50).collect::<Vec<_>>());
        // Older than 41 exists on the server but not here: offline says so.
        let refused = older_from_cache(cached, 41).expect_err("nothing cached");
        assert_eq!(refused.0.kind, UiErrorKind::Network);
        assert!(refused.0.message.contains("offline"));
        // The room's first message cached: nothing older to offer.
        let page = older_from_cache((1..=10).map(message).collect(), 5).expect("cached");
        assert_eq!(seqs(&page), vec![1, 2, 3, 4]);
        assert_eq!(page.previous_cursor, None);
    }
}

// ---- her account (Settings → Security) ----

/// Where the user is signed in, the current session marked.
#[tauri::command]
pub async fn sessions(state: State<'_, AppState>) -> Result<Output<cmd::Sessions>, UiError> {
    Ok(state.client().sessions().await?)
}

/// Signs another of the user's sessions out.
#[tauri::command]
pub async fn end_session(
    state: State<'_, AppState>,
    args: Args<cmd::EndSession>,
) -> Result<Output<cmd::EndSession>, UiError> {
    Ok(state.client().end_session_of_mine(args.id).await?)
}

/// Signs every other session of the user's out.
#[tauri::command]
pub async fn revoke_other_sessions(
    state: State<'_, AppState>,
) -> Result<Output<cmd::RevokeOtherSessions>, UiError> {
    Ok(state.client().revoke_other_sessions().await?)
}

/// Changes the password; every other session ends.
#[tauri::command]
pub async fn change_password(
    state: State<'_, AppState>,
    args: Args<cmd::ChangePassword>,
) -> Result<Output<cmd::ChangePassword>, UiError> {
    args.validate().map_err(UiError::validation)?;
    Ok(state.client().change_password(&args).await?)
}

// ---- administration ----

#[tauri::command]
pub async fn admin_users(
    state: State<'_, AppState>,
    args: Args<cmd::AdminUsers>,
) -> Result<Output<cmd::AdminUsers>, UiError> {
    Ok(state
        .client()
        .admin_users(args.role, args.state, &args.search)
        .await?)
}

/// Verify, suspend, disable or reinstate an account, saying why.
#[tauri::command]
pub async fn admin_decide(
    state: State<'_, AppState>,
    args: Args<cmd::AdminDecide>,
) -> Result<Output<cmd::AdminDecide>, UiError> {
    let reason = kintara_api::AccountActionRequest {
        reason: args.reason.clone(),
    };
    reason.validate().map_err(UiError::validation)?;
    Ok(state
        .client()
        .admin_decide(args.user, args.decision, &args.reason)
        .await?)
}

#[tauri::command]
pub async fn create_staff(
    state: State<'_, AppState>,
    args: Args<cmd::CreateStaff>,
) -> Result<Output<cmd::CreateStaff>, UiError> {
    args.validate().map_err(UiError::validation)?;
    Ok(state.client().create_staff(&args).await?)
}

#[tauri::command]
pub async fn audit_log(state: State<'_, AppState>) -> Result<Output<cmd::AuditLog>, UiError> {
    Ok(state.client().audit_log().await?)
}

/// Admins: how each delivery lane is doing.
#[tauri::command]
pub async fn delivery_health(
    state: State<'_, AppState>,
) -> Result<Output<cmd::DeliveryHealth>, UiError> {
    Ok(state.client().delivery_health().await?)
}

// ---- safety: emergency contacts ----

/// Where the contacts are kept in the sealed local store (a neutral name, like the rest).
const CONTACTS_KIND: &str = "notes";
const CONTACTS_KEY: &str = "people";

/// The survivor's emergency contacts, from the sealed local store (none before sign-in).
#[tauri::command]
pub async fn contacts(state: State<'_, AppState>) -> Result<Output<cmd::Contacts>, UiError> {
    use kintara_core::LocalStore;
    let live = state.live.lock().await;
    let Some(l) = live.as_ref() else {
        return Ok(Vec::new());
    };
    let stored = l.account.local.cached(CONTACTS_KIND).await?;
    Ok(stored
        .into_iter()
        .find(|(k, _)| k == CONTACTS_KEY)
        .and_then(|(_, json)| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Replaces the emergency contacts, sealed with the device key; wiped at sign-out.
#[tauri::command]
pub async fn set_contacts(
    state: State<'_, AppState>,
    args: Args<cmd::SetContacts>,
) -> Result<Output<cmd::SetContacts>, UiError> {
    use kintara_api::app::{MAX_CONTACTS, MAX_CONTACT_TEXT};
    use kintara_core::LocalStore;
    let too_long = |s: &str| s.chars().count() > MAX_CONTACT_TEXT;
    if args.contacts.len() > MAX_CONTACTS
        || args
            .contacts
            .iter()
            .any(|c| too_long(&c.name) || too_long(&c.phone))
    {
        let mut errors = FieldErrors::default();
        errors.add(
            "contacts",
            FieldError::TooLong {
                max: MAX_CONTACT_TEXT,
            },
        );
        return Err(UiError::validation(errors));
    }
    let live = state.live.lock().await;
    let l = live
        .as_ref()
        .ok_or_else(|| UiError::text(UiErrorKind::LoggedOut, "error.logged_out"))?;
    let json = serde_json::to_string(&args.contacts).map_err(|e| UiError::other(e.to_string()))?;
    l.account
        .local
        .put_cached(CONTACTS_KIND, CONTACTS_KEY, &json)
        .await?;
    Ok(())
}

/// Survivors: block someone in a room with her.
#[tauri::command]
pub async fn block_user(
    state: State<'_, AppState>,
    args: Args<cmd::BlockUser>,
) -> Result<Output<cmd::BlockUser>, UiError> {
    Ok(state.client().block_user(args.user_id).await?)
}
