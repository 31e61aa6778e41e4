//! The only way out of the UI: the shell's commands, each declared once in
//! `kintara_api::app::cmd` with its argument and result types. `invoke::<cmd::X>(&args)` is
//! the one way to call one; no command is named by a string here.

use kintara_api::app::{Args, Command, Output, RawBody, RawBytes, UiErrorKind};
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use kintara_api::app::{NoArgs, UiError};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn invoke_js(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Whether the page runs inside the Kintara app (and not in a plain browser).
pub fn in_app() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("__TAURI__")).unwrap_or(false)
}

fn local(message: impl Into<String>) -> UiError {
    UiError::new(UiErrorKind::Other, message)
}

/// The shell's commands take their argument as `args`.
#[derive(Serialize)]
struct Wrapped<'a, A> {
    args: &'a A,
}

/// Calls command `C` with its declared argument; answers its declared result.
pub async fn invoke<C: Command>(args: &Args<C>) -> Result<Output<C>, UiError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let js = Wrapped { args }
        .serialize(&serializer)
        .map_err(|e| local(e.to_string()))?;
    call::<C>(js).await
}

/// Calls command `C`, whose argument is the raw IPC body, with `bytes` (a `Uint8Array` goes as
/// the body itself; nested in an object it would go as an array of numbers).
pub async fn invoke_raw<C: Command<Args = RawBody>>(
    bytes: js_sys::Uint8Array,
) -> Result<Output<C>, UiError> {
    call::<C>(bytes.into()).await
}

async fn call<C: Command>(args: JsValue) -> Result<Output<C>, UiError> {
    let value = call_raw(C::NAME, args).await?;
    serde_wasm_bindgen::from_value(value).map_err(|e| local(e.to_string()))
}

/// A command whose answer is raw bytes (`RawBytes`): an evidence file, kept in memory.
pub async fn invoke_bytes<C: Command<Output = RawBytes>>(
    args: &Args<C>,
) -> Result<js_sys::Uint8Array, UiError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let js = Wrapped { args }
        .serialize(&serializer)
        .map_err(|e| local(e.to_string()))?;
    let value = call_raw(C::NAME, js).await?;
    Ok(js_sys::Uint8Array::new(&value))
}

async fn call_raw(name: &str, args: JsValue) -> Result<JsValue, UiError> {
    if !in_app() {
        return Err(local(
            "Open Kintara in its app: this page cannot work on its own.",
        ));
    }
    invoke_js(name, args).await.map_err(|err| {
        serde_wasm_bindgen::from_value::<UiError>(err.clone()).unwrap_or_else(|_| {
            local(
                err.as_string()
                    .unwrap_or_else(|| "The app could not do that.".into()),
            )
        })
    })
}

pub fn id(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text).unwrap_or_default()
}

/// A submit: command `C` as an action. `pending()` is its busy state while it runs, `value()`
/// the last answer (its error included); a newer dispatch supersedes an older one's answer.
pub fn action<C>() -> leptos::prelude::Action<Args<C>, Result<Output<C>, UiError>>
where
    C: Command + 'static,
    Args<C>: Clone + Send + Sync + 'static,
    Output<C>: Send + Sync + 'static,
{
    leptos::prelude::Action::new_local(|args: &Args<C>| {
        let args = args.clone();
        async move { invoke::<C>(&args).await }
    })
}
