//! The app frame: which screen shows, and who is signed in.

use kintara_api::app::{cmd, OutboxItem, SyncStatus, UiErrorKind};
use kintara_api::User;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ipc::{self, NoArgs};
use crate::live;
use crate::presence::Typist;
use crate::quick_exit;
use crate::screens::unlock::{self, Key};
use crate::screens::{auth, frame, wizard};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Loading,
    Server,
    SignIn,
    Register,
    Home,
    Wizard,
    Reports,
    Chat,
    Notifications,
    Outbox,
    Safety,
    Settings,
    /// Accounts and the audit log (admins).
    Admin,
}

impl Screen {
    /// Screens shown inside the signed-in frame (header, bell, navigation). The report wizard
    /// stays full screen: one task, no distractions.
    pub fn framed(self) -> bool {
        !matches!(
            self,
            Screen::Loading | Screen::Server | Screen::SignIn | Screen::Register | Screen::Wizard
        )
    }
}

/// Shared by every screen.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The app shows itself as "Notes" (window title, header, OS notifications).
    pub disguised: RwSignal<bool>,
    pub screen: RwSignal<Screen>,
    pub user: RwSignal<Option<User>>,
    pub server_url: RwSignal<String>,
    /// A one-line confirmation shown on the next screen (e.g. "Report KIN-... sent").
    pub notice: RwSignal<Option<String>>,
    /// What the live frames changed, by topic; screens refetch when theirs move.
    pub topics: live::Topics,
    /// The connection, as the frame shows it.
    pub sync: RwSignal<SyncStatus>,
    /// The outbox: what is waiting to be sent, or failed.
    pub outbox: RwSignal<Vec<OutboxItem>>,
    /// Unread notifications.
    pub unread: RwSignal<i64>,
    /// The chat room to show (its id).
    pub room: RwSignal<Option<String>>,
    /// The case to show (its id): the staff's home opens its details and scrolls to it.
    pub case: RwSignal<Option<String>>,
    /// Who is typing where, from `typing` frames.
    pub typing: RwSignal<Vec<Typist>>,
    /// Ids of the people in a room with the caller who are online.
    pub online: RwSignal<Vec<String>>,
    /// Where the device key stands; every screen waits behind the unlock (or choose-a-PIN)
    /// screen until it is "unlocked".
    pub key: RwSignal<Key>,
}

impl Ctx {
    pub fn go(&self, screen: Screen) {
        self.screen.set(screen);
    }

    /// Back to sign-in after the session ended, saying why.
    pub fn signed_out(&self, why: Option<String>) {
        self.user.set(None);
        self.room.set(None);
        self.typing.set(Vec::new());
        self.online.set(Vec::new());
        self.outbox.set(Vec::new());
        self.unread.set(0);
        self.sync.set(SyncStatus::LoggedOut);
        self.notice.set(why);
        self.screen.set(Screen::SignIn);
        // Signing out takes the device key with it: the next sign-in may need a new PIN first.
        // Until the shell says, nothing shows (so the notice is not spent on a passing screen).
        let key = self.key;
        key.set(None);
        spawn_local(async move { key.set(unlock::fetch_status().await) });
    }

    /// Shows case `incident` where the caller works it: her reports for a survivor, the case's
    /// card with its details open for staff.
    pub fn open_case(&self, incident: String) {
        let survivor =
            self.user.get_untracked().map(|u| u.role) == Some(kintara_api::Role::Survivor);
        if survivor {
            self.screen.set(Screen::Reports);
        } else {
            self.case.set(Some(incident));
            self.screen.set(Screen::Home);
        }
    }

    /// Opens the chat on `room`.
    pub fn open_room(&self, room: String) {
        self.room.set(Some(room));
        self.screen.set(Screen::Chat);
    }

    /// Handles an error from a command: signs out when the session ended, else returns the
    /// message to show.
    pub fn fail(&self, e: ipc::UiError) -> String {
        if e.kind == UiErrorKind::LoggedOut {
            self.signed_out(Some(e.message.clone()));
        }
        e.message
    }

    /// The signed-in user's id, as text.
    pub fn me(&self) -> String {
        self.user
            .get_untracked()
            .map(|u| u.id.to_string())
            .unwrap_or_default()
    }
}

pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

/// The first screen behind the key: home with a kept session, else sign-in.
async fn open_app(ctx: Ctx) {
    match ipc::invoke::<cmd::AppInfo>(&NoArgs {}).await {
        Ok(info) => {
            ctx.server_url.set(info.server_url);
            let signed_in = info.user.is_some();
            ctx.user.set(info.user);
            ctx.go(if signed_in {
                Screen::Home
            } else {
                Screen::SignIn
            });
        }
        Err(e) => {
            ctx.notice.set(Some(e.message));
            ctx.go(Screen::SignIn);
        }
    }
}

/// The key was just opened (PIN, new PIN, biometrics, keystore back): on to the app.
pub async fn key_opened(ctx: Ctx) {
    open_app(ctx).await;
    ctx.key.set(unlock::fetch_status().await);
}

#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx {
        disguised: RwSignal::new(false),
        screen: RwSignal::new(Screen::Loading),
        user: RwSignal::new(None),
        server_url: RwSignal::new(String::new()),
        notice: RwSignal::new(None),
        topics: live::Topics::new(),
        sync: RwSignal::new(SyncStatus::Connecting),
        outbox: RwSignal::new(Vec::new()),
        unread: RwSignal::new(0),
        room: RwSignal::new(None),
        case: RwSignal::new(None),
        typing: RwSignal::new(Vec::new()),
        online: RwSignal::new(Vec::new()),
        key: RwSignal::new(None),
    };
    provide_context(ctx);
    live::start(ctx);
    // The page's title follows the disguise and the quick exit: "Notes" while either is on.
    Effect::new(move |_| {
        let notes = ctx.disguised.get() || crate::quick_exit::hidden();
        document().set_title(if notes { "Notes" } else { "Kintara" });
    });
    spawn_local(async move {
        // Tells the shell the UI is up (it measures cold start from this).
        let _ = ipc::invoke::<cmd::UiReady>(&NoArgs {}).await;
        if let Ok(on) = ipc::invoke::<cmd::Disguise>(&NoArgs {}).await {
            ctx.disguised.set(on);
        }
        let key = unlock::fetch_status().await;
        if unlock::unlocked(&key) || !ipc::in_app() {
            open_app(ctx).await;
        }
        ctx.key.set(key);
    });
    // Behind the key (locked, no PIN yet): only the key's screens show.
    let gated = Memo::new(move |_| !ctx.key.with(unlock::unlocked) && ipc::in_app());
    let framed = Memo::new(move |_| ctx.screen.get().framed() && !gated.get());
    quick_exit::listen_for_escape(ctx);
    crate::presence::keep_present(ctx);
    // The document's language follows the switch, and so do the shell's OS notifications.
    Effect::new(move |_| {
        let code = crate::i18n::lang().code();
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", code);
        }
        crate::i18n::tell_shell();
    });
    view! {
        {move || quick_exit::hidden().then(|| view! { <quick_exit::Decoy/> })}
        <main hidden=quick_exit::hidden class=move || if framed.get() { "app framed" } else { "app" }>
            {move || gated.get().then(|| view! { <unlock::KeyGate/> })}
            {move || framed.get().then(|| view! { <frame::Frame/> })}
            {move || (!framed.get() && !gated.get()).then(|| match ctx.screen.get() {
                Screen::Server => view! { <auth::ServerScreen/> }.into_any(),
                Screen::SignIn => view! { <auth::SignIn/> }.into_any(),
                Screen::Register => view! { <auth::Register/> }.into_any(),
                Screen::Wizard => view! { <wizard::ReportWizard/> }.into_any(),
                _ => view! { <p class="loading">"Loading…"</p> }.into_any(),
            })}
        </main>
    }
}

/// The notice, shown once and then cleared.
#[component]
pub fn Notice() -> impl IntoView {
    let ctx = ctx();
    let text = ctx.notice.get_untracked();
    ctx.notice.set(None);
    text.map(|t| view! { <div id="notice" class="notice" role="status">{t}</div> })
}
