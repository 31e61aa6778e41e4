//! The app frame: which screen shows, and who is signed in.

use kintara_api::User;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;

use crate::ipc::{self, NoArgs};
use crate::screens::{auth, home, reports, wizard};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Loading,
    Server,
    SignIn,
    Register,
    Home,
    Wizard,
    Reports,
}

/// Shared by every screen.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub screen: RwSignal<Screen>,
    pub user: RwSignal<Option<User>>,
    pub server_url: RwSignal<String>,
    /// A one-line confirmation shown on the next screen (e.g. "Report KIN-... sent").
    pub notice: RwSignal<Option<String>>,
}

impl Ctx {
    pub fn go(&self, screen: Screen) {
        self.screen.set(screen);
    }

    /// Back to sign-in after the session ended, saying why.
    pub fn signed_out(&self, why: Option<String>) {
        self.user.set(None);
        self.notice.set(why);
        self.screen.set(Screen::SignIn);
    }
}

pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

#[derive(Deserialize)]
struct AppInfo {
    server_url: String,
    user: Option<User>,
}

#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx {
        screen: RwSignal::new(Screen::Loading),
        user: RwSignal::new(None),
        server_url: RwSignal::new(String::new()),
        notice: RwSignal::new(None),
    };
    provide_context(ctx);
    spawn_local(async move {
        match ipc::call::<_, AppInfo>("app_info", &NoArgs {}).await {
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
    });
    view! {
        <main class="app">
            {move || match ctx.screen.get() {
                Screen::Loading => view! { <p class="loading">"Loading…"</p> }.into_any(),
                Screen::Server => view! { <auth::ServerScreen/> }.into_any(),
                Screen::SignIn => view! { <auth::SignIn/> }.into_any(),
                Screen::Register => view! { <auth::Register/> }.into_any(),
                Screen::Home => view! { <home::Home/> }.into_any(),
                Screen::Wizard => view! { <wizard::ReportWizard/> }.into_any(),
                Screen::Reports => view! { <reports::MyReports/> }.into_any(),
            }}
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
