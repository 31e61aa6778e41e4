//! The outbox: what this device has not sent yet, and what the server refused.

use kintara_api::app::{cmd, CaseDecision, OutboxAction, OutboxIdArgs, OutboxItem, OutboxState};
use leptos::prelude::*;

use crate::app::ctx;
use crate::i18n::{self, t};
use crate::ipc;

#[component]
pub fn OutboxView() -> impl IntoView {
    let ctx = ctx();
    let error = RwSignal::new(None::<String>);
    let retry = ipc::action::<cmd::OutboxRetry>();
    let discard = ipc::action::<cmd::OutboxDiscard>();
    for action in [retry, discard] {
        Effect::new(move |_| match action.value().get() {
            Some(Ok(())) => crate::live::refresh_outbox(ctx),
            Some(Err(e)) => error.set(Some(ctx.fail(e))),
            None => {}
        });
    }
    let act = move |again: bool, id: i64| {
        let args = OutboxIdArgs { id };
        if again {
            retry.dispatch(args);
        } else {
            discard.dispatch(args);
        }
    };
    view! {
        <section class="screen">
            <header class="top"><h1>{move || t("outbox.title")}</h1></header>
            <p class="hint">{move || t("outbox.hint")}</p>
            {move || error.get().map(|e| view! { <div class="error-banner" role="alert">{e}</div> })}
            <ul id="outbox" class="cards">
                {move || ctx.outbox.get().into_iter().map(|it| {
                    let failed = it.is_failed();
                    let id = it.id;
                    let (what, state) = (it.clone(), it.state);
                    let attempts = it.attempts.to_string();
                    view! {
                        <li class=format!("outbox-item card state-{}", it.state.as_str()) data-id=id.to_string()>
                            <div class="row">
                                <span class="what">{move || describe(&what)}</span>
                                <span class="state">{move || state_label(&state)}</span>
                            </div>
                            {it.last_error.clone().map(|e| view! { <div class="reason">{e}</div> })}
                            {(it.attempts > 0).then(|| view! { <div class="meta">{move || i18n::tf("outbox.tried", &[("n", &attempts)])}</div> })}
                            {failed.then(|| view! {
                                <div class="card-actions">
                                    <button class="retry primary-sm" on:click=move |_| act(true, id)>{move || t("outbox.retry")}</button>
                                    <button class="discard secondary-sm" on:click=move |_| act(false, id)>{move || t("outbox.discard")}</button>
                                </div>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || ctx.outbox.with(|o| o.is_empty()).then(|| view! {
                <p id="outbox-empty" class="hint empty">{move || t("outbox.empty")}</p>
            })}
        </section>
    }
}

/// What an item is, in words, in the current language.
fn describe(it: &OutboxItem) -> String {
    let key = match &it.action {
        OutboxAction::SendMessage { content, .. } => {
            return format!("{}{}", t("outbox.message"), content)
        }
        OutboxAction::FileReport(_) => "outbox.report",
        OutboxAction::AttachEvidence { .. } => "outbox.attachment",
        OutboxAction::Accept { .. } => "outbox.accept",
        OutboxAction::Reject { .. } => "outbox.reject",
        OutboxAction::UpdateStatus { .. } => "outbox.status",
        OutboxAction::Assign { .. } => "outbox.assign",
        OutboxAction::Reassign { .. } => "outbox.reassign",
        OutboxAction::Decide {
            decision: CaseDecision::Close,
            ..
        } => "outbox.close",
        OutboxAction::Decide {
            decision: CaseDecision::Reopen,
            ..
        } => "outbox.reopen",
        OutboxAction::EditReport { .. } => "outbox.edit_report",
        OutboxAction::WithdrawReport { .. } => "outbox.withdraw",
        OutboxAction::MarkRead { .. } => "outbox.mark_read",
    };
    t(key).to_owned()
}

fn state_label(state: &OutboxState) -> &'static str {
    t(match state {
        OutboxState::Sending => "outbox.sending",
        OutboxState::Failed => "outbox.failed",
        OutboxState::Queued => "outbox.waiting",
    })
}
