//! Server address, sign in, register.

use kintara_api::app::{cmd, NoArgs, ServerArgs};
use kintara_api::{
    FieldError as WireFieldError, LoginRequest, ProviderType, RegisterRequest, Role, Validate,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{ctx, Notice, Screen};
use crate::fields::{ErrorBanner, Errors, FieldError};
use crate::i18n::{self, t, Lang};
use crate::ipc;

#[component]
pub fn ServerScreen() -> impl IntoView {
    let ctx = ctx();
    let url = RwSignal::new(ctx.server_url.get_untracked());
    let error = RwSignal::new(None::<String>);
    let connect = ipc::action::<cmd::SetServer>();
    let busy = connect.pending();
    Effect::new(move |_| match connect.value().get() {
        Some(Ok(_)) => spawn_local(async move {
            if let Ok(info) = ipc::invoke::<cmd::AppInfo>(&NoArgs {}).await {
                ctx.server_url.set(info.server_url);
            }
            ctx.user.set(None);
            ctx.go(Screen::SignIn);
        }),
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        connect.dispatch(ServerArgs {
            url: url.get_untracked(),
        });
    };
    view! {
        <section class="screen narrow">
            <h1>{move || t("server.title")}</h1>
            <p class="hint">{move || t("server.hint")}</p>
            <form on:submit=save>
                <label for="server-url">{move || t("server.title")}</label>
                <input id="server-url" type="url" autocomplete="url" required
                    prop:value=move || url.get()
                    on:input=move |ev| url.set(event_target_value(&ev)) />
                <ErrorBanner id="server-error" message=error/>
                <button id="server-save" type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { t("server.checking") } else { t("server.connect") }}
                </button>
            </form>
            <button class="link" on:click=move |_| ctx.go(Screen::SignIn)>{move || t("server.back")}</button>
        </section>
    }
}

/// English / Swahili before sign-in (the frame has its own once signed in): someone who reads
/// only Swahili must be able to get in.
#[component]
fn LangSwitch() -> impl IntoView {
    view! {
        <button id="signin-lang" class="lang" type="button"
            aria-label=move || t("frame.language")
            data-lang=move || i18n::lang().code()
            on:click=move |_| i18n::set_lang(if i18n::lang() == Lang::En { Lang::Sw } else { Lang::En })>
            <span class="lang-en">"EN"</span>" / "<span class="lang-sw">"SW"</span>
        </button>
    }
}

#[component]
pub fn SignIn() -> impl IntoView {
    let ctx = ctx();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let login = ipc::action::<cmd::Login>();
    let busy = login.pending();
    Effect::new(move |_| match login.value().get() {
        Some(Ok(user)) => {
            password.set(String::new());
            ctx.user.set(Some(user));
            ctx.go(Screen::Home);
        }
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if email.get_untracked().trim().is_empty() || password.get_untracked().is_empty() {
            error.set(Some(t("signin.need_both").into()));
            return;
        }
        error.set(None);
        login.dispatch(LoginRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
        });
    };
    view! {
        <section class="screen narrow">
            <div class="brand"><img src="app-icon.png" alt="" width="56" height="56"/><h1>"Kintara"</h1></div>
            <LangSwitch/>
            <p class="hint">{move || t("signin.hint")}</p>
            <Notice/>
            <form on:submit=submit>
                <label for="login-email">{move || t("signin.email")}</label>
                <input id="login-email" type="email" autocomplete="username"
                    prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev)) />
                <label for="login-password">{move || t("signin.password")}</label>
                <input id="login-password" type="password" autocomplete="current-password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev)) />
                <ErrorBanner id="login-error" message=error/>
                <button id="login-submit" type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { t("signin.busy") } else { t("signin.submit") }}
                </button>
            </form>
            <button id="goto-register" class="link" on:click=move |_| ctx.go(Screen::Register)>
                {move || t("signin.register")}
            </button>
            <p class="server-line">
                {move || t("signin.server")} <span id="server-current">{move || ctx.server_url.get()}</span> " "
                <button id="goto-server" class="link" on:click=move |_| ctx.go(Screen::Server)>{move || t("signin.change")}</button>
            </p>
        </section>
    }
}

#[component]
pub fn Register() -> impl IntoView {
    let ctx = ctx();
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Survivor);
    let ptype = RwSignal::new(None::<ProviderType>);
    let anonymous = RwSignal::new(false);
    let errors = RwSignal::new(Errors::new());
    let error = RwSignal::new(None::<String>);
    let register = ipc::action::<cmd::Register>();
    let busy = register.pending();
    Effect::new(move |_| match register.value().get() {
        Some(Ok(user)) => {
            ctx.user.set(Some(user));
            ctx.go(Screen::Home);
        }
        Some(Err(e)) => {
            errors.set(e.fields.clone());
            error.set(Some(e.message));
        }
        None => {}
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = RegisterRequest {
            email: email.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
            first_name: first.get_untracked(),
            last_name: last.get_untracked(),
            role: role.get_untracked(),
            provider_type: if role.get_untracked() == Role::Provider {
                ptype.get_untracked()
            } else {
                None
            },
            is_anonymous: anonymous.get_untracked(),
        };
        // The same rules the server applies, checked here first for a quick answer.
        let mut checked = request.validate().err().unwrap_or_default();
        // The confirmation is the form's own check; the server never sees it.
        if confirm.get_untracked() != request.password {
            checked.add("confirm_password", WireFieldError::PasswordsDiffer {});
        }
        if !checked.is_empty() {
            errors.set(crate::fields::worded(checked));
            error.set(Some(t("register.attention").into()));
            return;
        }
        errors.set(Errors::new());
        error.set(None);
        register.dispatch(request);
    };

    let text_input = move |id: &'static str,
                           label: &'static str,
                           kind: &'static str,
                           field: &'static str,
                           sig: RwSignal<String>| {
        view! {
            <label for=id>{move || t(label)}</label>
            <input id=id type=kind prop:value=move || sig.get()
                on:input=move |ev| sig.set(event_target_value(&ev)) />
            <FieldError errors=errors field=field/>
        }
    };

    view! {
        <section class="screen narrow">
            <h1>{move || t("register.title")}</h1>
            <form on:submit=submit>
                <fieldset class="choices">
                    <legend>{move || t("register.i_am")}</legend>
                    <label><input id="reg-role-survivor" type="radio" name="role"
                        prop:checked=move || role.get() == Role::Survivor
                        on:change=move |_| role.set(Role::Survivor)/>{move || t("register.survivor")}</label>
                    <label><input id="reg-role-provider" type="radio" name="role"
                        prop:checked=move || role.get() == Role::Provider
                        on:change=move |_| role.set(Role::Provider)/>{move || t("register.provider")}</label>
                </fieldset>
                <Show when=move || role.get() == Role::Provider>
                    <label for="reg-provider-type">{move || t("register.kind")}</label>
                    <select id="reg-provider-type" on:change=move |ev| ptype.set(ProviderType::parse(&event_target_value(&ev)))>
                        <option value="">{move || t("register.choose")}</option>
                        {ProviderType::ALL.iter().map(|p| view! { <option value=p.as_str()>{move || i18n::provider_type(*p)}</option> }).collect_view()}
                    </select>
                    <FieldError errors=errors field="provider_type"/>
                </Show>
                <Show when=move || role.get() == Role::Survivor>
                    <label class="check"><input id="reg-anonymous" type="checkbox"
                        prop:checked=move || anonymous.get()
                        on:change=move |ev| anonymous.set(event_target_checked(&ev))/>
                        {move || t("register.anonymous")}</label>
                </Show>
                {text_input("reg-first", "register.first", "text", "first_name", first)}
                {text_input("reg-last", "register.last", "text", "last_name", last)}
                {text_input("reg-email", "signin.email", "email", "email", email)}
                {text_input("reg-password", "register.password", "password", "password", password)}
                {text_input("reg-confirm", "register.confirm", "password", "confirm_password", confirm)}
                <FieldError errors=errors field="role"/>
                <ErrorBanner id="reg-error" message=error/>
                <button id="reg-submit" type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { t("register.busy") } else { t("register.submit") }}
                </button>
            </form>
            <button class="link" on:click=move |_| ctx.go(Screen::SignIn)>{move || t("register.have_account")}</button>
        </section>
    }
}
