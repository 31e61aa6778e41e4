//! Administration (admins only): accounts with filters and a search, each with the decisions
//! its state allows (verify, suspend, disable, reinstate) and a reason for the audit log; a form
//! for a new dispatcher or admin; how notifications are getting out (per delivery lane); and the
//! audit log itself.

use kintara_api::app::{cmd, AdminDecisionArgs, AdminUsersArgs};
use kintara_api::{
    AccountState, AdminDecision, AuditAction, AuditEntry, CreateStaffRequest, DeliveryCounts,
    DeliveryHealth, LaneHealth, Role, StaffRole, User,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::ctx;
use crate::i18n::{self, day_time, t, tf};
use crate::ipc::{self, NoArgs};

fn role_label(r: Role) -> &'static str {
    t(match r {
        Role::Survivor => "role.survivor",
        Role::Provider => "role.provider",
        Role::Dispatcher => "role.dispatcher",
        Role::Admin => "role.admin",
    })
}

fn decision_label(d: AdminDecision) -> &'static str {
    t(match d {
        AdminDecision::Verify => "admin.decision.verify",
        AdminDecision::Suspend => "admin.decision.suspend",
        AdminDecision::Disable => "admin.decision.disable",
        AdminDecision::Reinstate => "admin.decision.reinstate",
    })
}

fn action_label(a: AuditAction) -> &'static str {
    t(match a {
        AuditAction::Created => "admin.action.created",
        AuditAction::Verified => "admin.action.verified",
        AuditAction::Suspended => "admin.action.suspended",
        AuditAction::Disabled => "admin.action.disabled",
        AuditAction::Reinstated => "admin.action.reinstated",
    })
}

#[component]
pub fn Admin() -> impl IntoView {
    let ctx = ctx();
    let role = RwSignal::new(None::<Role>);
    let state = RwSignal::new(None::<AccountState>);
    let search = RwSignal::new(String::new());
    let users: RwSignal<Option<(i64, Vec<User>)>> = RwSignal::new(None);
    let audit: RwSignal<Option<Vec<AuditEntry>>> = RwSignal::new(None);
    let status: RwSignal<Option<String>> = RwSignal::new(None);
    let load = move || {
        let args = AdminUsersArgs {
            role: role.get_untracked(),
            state: state.get_untracked(),
            search: search.get_untracked(),
        };
        spawn_local(async move {
            match ipc::invoke::<cmd::AdminUsers>(&args).await {
                Ok(page) => users.set(Some((page.count, page.results))),
                Err(e) => status.set(Some(ctx.fail(e))),
            }
            match ipc::invoke::<cmd::AuditLog>(&NoArgs {}).await {
                Ok(page) => audit.set(Some(page.results)),
                Err(e) => status.set(Some(ctx.fail(e))),
            }
        })
    };
    load();
    let decide = move |user: User, decision: AdminDecision, reason: String| {
        let args = AdminDecisionArgs {
            user: user.id,
            decision,
            reason,
        };
        spawn_local(async move {
            match ipc::invoke::<cmd::AdminDecide>(&args).await {
                Ok(u) => status.set(Some(tf(
                    "admin.done",
                    &[
                        ("decision", decision_label(decision)),
                        ("name", &u.full_name),
                    ],
                ))),
                Err(e) => {
                    let fields: Vec<String> = e.fields.values().flatten().cloned().collect();
                    let message = ctx.fail(e);
                    status.set(Some(if fields.is_empty() {
                        message
                    } else {
                        fields.join(" ")
                    }));
                }
            }
            load();
        })
    };
    let row = move |u: User| {
        let reason = RwSignal::new(String::new());
        let kind = match u.provider_type {
            Some(p) => format!("{} · {}", role_label(u.role), i18n::provider_type(p)),
            None => role_label(u.role).to_owned(),
        };
        let state_now = u.account_state;
        let buttons = AdminDecision::open_to(state_now)
            .iter()
            .map(|d| {
                let d = *d;
                let u = u.clone();
                view! {
                    <button class=format!("decide-{} secondary", d.as_str())
                        on:click=move |_| decide(u.clone(), d, reason.get_untracked())>
                        {move || decision_label(d)}
                    </button>
                }
            })
            .collect_view();
        view! {
            <li class="account card" data-user=u.id.to_string() data-state=state_now.as_str()>
                <strong class="account-name">{u.full_name.clone()}</strong>
                <span class="account-email">{u.email.clone()}</span>
                <span class="account-kind">{kind}</span>
                <span class="account-state">{move || kintara_i18n::account_state(i18n::lang(), state_now)}</span>
                <input class="reason" type="text" maxlength="1000"
                    placeholder=move || t("admin.reason") aria-label=move || t("admin.reason")
                    prop:value=reason on:input=move |e| reason.set(event_target_value(&e))/>
                <div class="actions">{buttons}</div>
            </li>
        }
    };
    let entry = move |e: AuditEntry| {
        let at = e.at;
        view! {
            <li class="entry" data-action=e.action.as_str() data-target=e.target.id.to_string()>
                <span class="hint">{move || day_time(&at)}</span> " "
                <strong>{e.actor.full_name.clone()}</strong> " "
                {move || action_label(e.action)} " "
                <strong>{e.target.full_name.clone()}</strong>
                {(!e.reason.is_empty()).then(|| format!(": {}", e.reason))}
            </li>
        }
    };
    view! {
        <section id="admin" class="screen">
            <header class="top"><h1>{move || t("admin.title")}</h1></header>
            <div class="filters">
                <label>{move || t("admin.role")}
                    <select id="admin-role" on:change=move |e| {
                        role.set(Role::parse(&event_target_value(&e)));
                        load();
                    }>
                        <option value="">{move || t("admin.any")}</option>
                        {Role::ALL.iter().map(|r| view! {
                            <option value=r.as_str()>{move || role_label(*r)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{move || t("admin.state")}
                    <select id="admin-state" on:change=move |e| {
                        state.set(AccountState::parse(&event_target_value(&e)));
                        load();
                    }>
                        <option value="">{move || t("admin.any")}</option>
                        {AccountState::ALL.iter().map(|s| view! {
                            <option value=s.as_str()>{move || kintara_i18n::account_state(i18n::lang(), *s)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <input id="admin-search" type="search" maxlength="100"
                    placeholder=move || t("admin.search") aria-label=move || t("admin.search")
                    prop:value=search
                    on:input=move |e| { search.set(event_target_value(&e)); load(); }/>
            </div>
            <p id="admin-status" class="hint" role="status">{move || status.get()}</p>
            <p id="admin-count" class="hint">
                {move || users.get().map(|(n, _)| if n == 0 {
                    t("admin.none").to_string()
                } else {
                    tf("admin.count", &[("n", &n.to_string())])
                })}
            </p>
            <ul id="admin-users" class="accounts"
                data-ready=move || users.with(Option::is_some).to_string()>
                {move || users.get().map(|(_, list)| list.into_iter().map(row).collect_view())}
            </ul>
            <NewStaff on_created=move |name| {
                status.set(Some(tf("admin.created", &[("name", &name)])));
                load();
            }/>
            <Deliveries/>
            <h2>{move || t("admin.audit")}</h2>
            <ul id="audit" class="audit">
                {move || match audit.get() {
                    Some(list) if list.is_empty() => view! {
                        <li class="hint">{move || t("admin.audit_empty")}</li>
                    }.into_any(),
                    Some(list) => list.into_iter().map(entry).collect_view().into_any(),
                    None => ().into_any(),
                }}
            </ul>
        </section>
    }
}

/// How each delivery lane is doing: sent, waiting and failed over the last hour and day, the
/// oldest still waiting and the latest errors (counts and error texts only).
#[component]
fn Deliveries() -> impl IntoView {
    let ctx = ctx();
    let health: RwSignal<Option<DeliveryHealth>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let load = move || {
        spawn_local(async move {
            match ipc::invoke::<cmd::DeliveryHealth>(&NoArgs {}).await {
                Ok(h) => {
                    health.set(Some(h));
                    error.set(None);
                }
                Err(e) => error.set(Some(ctx.fail(e))),
            }
        })
    };
    load();
    let counts = |c: &DeliveryCounts| {
        tf(
            "admin.delivery.counts",
            &[
                ("sent", &c.sent.to_string()),
                ("pending", &c.pending.to_string()),
                ("failed", &c.failed.to_string()),
            ],
        )
    };
    let lane = move |l: LaneHealth| {
        let hour = counts(&l.last_hour);
        let day = counts(&l.last_day);
        let oldest = l.oldest_pending;
        view! {
            <li class="lane" data-lane=l.lane.as_str() data-configured=l.configured.to_string()>
                <strong>{l.lane.label()}</strong>
                {if l.configured {
                    view! {
                        <span class="hint">{move || t("admin.delivery.hour")} " " {hour}</span>
                        <span class="hint">{move || t("admin.delivery.day")} " " {day}</span>
                        {oldest.map(|at| view! {
                            <span class="hint">
                                {move || tf("admin.delivery.oldest", &[("when", &day_time(&at))])}
                            </span>
                        })}
                    }.into_any()
                } else {
                    view! { <span class="hint">{move || t("admin.delivery.off")}</span> }.into_any()
                }}
                <ul class="lane-errors">
                    {l.recent_errors.into_iter().map(|e| view! {
                        <li class="hint">{move || day_time(&e.at)} ": " {e.error.clone()}</li>
                    }).collect_view()}
                </ul>
            </li>
        }
    };
    view! {
        <div id="deliveries" class="card" data-ready=move || health.with(Option::is_some).to_string()>
            <h2>{move || t("admin.delivery.title")}</h2>
            <button id="deliveries-refresh" class="secondary" on:click=move |_| load()>
                {move || t("admin.delivery.refresh")}
            </button>
            <ul id="lanes" class="lanes">
                {move || health.get().map(|h| h.lanes.into_iter().map(lane).collect_view())}
            </ul>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </div>
    }
}

/// A new dispatcher's or admin's account, active at once.
#[component]
fn NewStaff(on_created: impl Fn(String) + Copy + 'static) -> impl IntoView {
    let ctx = ctx();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    let role = RwSignal::new(StaffRole::Dispatcher);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = CreateStaffRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
            first_name: first.get_untracked(),
            last_name: last.get_untracked(),
            role: role.get_untracked(),
        };
        spawn_local(async move {
            match ipc::invoke::<cmd::CreateStaff>(&req).await {
                Ok(u) => {
                    error.set(None);
                    for f in [email, password, first, last] {
                        f.set(String::new());
                    }
                    on_created(u.full_name);
                }
                Err(e) => {
                    let fields: Vec<String> = e.fields.values().flatten().cloned().collect();
                    let message = ctx.fail(e);
                    error.set(Some(if fields.is_empty() {
                        message
                    } else {
                        fields.join(" ")
                    }));
                }
            }
        })
    };
    let field = move |id: &'static str,
                      label: &'static str,
                      kind: &'static str,
                      value: RwSignal<String>| {
        view! {
            <label>{move || t(label)}
                <input id=id type=kind prop:value=value
                    on:input=move |e| value.set(event_target_value(&e))/>
            </label>
        }
    };
    view! {
        <form id="new-staff" class="card" on:submit=submit>
            <h2>{move || t("admin.create")}</h2>
            {field("staff-first", "admin.first", "text", first)}
            {field("staff-last", "admin.last", "text", last)}
            {field("staff-email", "admin.email", "email", email)}
            {field("staff-password", "admin.password", "password", password)}
            <label>{move || t("admin.role")}
                <select id="staff-role" on:change=move |e| {
                    if let Some(r) = StaffRole::parse(&event_target_value(&e)) {
                        role.set(r);
                    }
                }>
                    {StaffRole::ALL.iter().map(|r| view! {
                        <option value=r.as_str()>{move || role_label(r.role())}</option>
                    }).collect_view()}
                </select>
            </label>
            <button id="staff-create" class="primary" type="submit">{move || t("admin.create_do")}</button>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </form>
    }
}
