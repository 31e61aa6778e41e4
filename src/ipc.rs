//! The only way out of the UI: Tauri commands, which run in the Rust core.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], catch)]
    async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// A command's error, as `src-tauri/src/ui_error.rs` sends it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UiError {
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
}

impl UiError {
    fn local(message: impl Into<String>) -> Self {
        UiError {
            kind: "other".into(),
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }
}

/// Whether the page runs inside the Kintara app (and not in a plain browser).
pub fn in_app() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("__TAURI__")).unwrap_or(false)
}

/// Named arguments as the JS object `invoke` takes.
fn to_js<A: Serialize>(args: &A) -> Result<JsValue, UiError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    args.serialize(&serializer)
        .map_err(|e| UiError::local(e.to_string()))
}

/// Calls a Tauri command with named arguments.
pub async fn call<A: Serialize, R: DeserializeOwned>(cmd: &str, args: &A) -> Result<R, UiError> {
    call_js(cmd, to_js(args)?).await
}

/// Calls a Tauri command with arguments already made into a JS value: named arguments as an
/// object, or a `Uint8Array` sent as the raw body (for a command that reads
/// `tauri::ipc::Request`; a `Uint8Array` nested in an object would go as an array of numbers).
pub async fn call_js<R: DeserializeOwned>(cmd: &str, args: JsValue) -> Result<R, UiError> {
    if !in_app() {
        return Err(UiError::local(
            "Open Kintara in its app: this page cannot work on its own.",
        ));
    }
    match invoke(cmd, args).await {
        Ok(value) => {
            serde_wasm_bindgen::from_value(value).map_err(|e| UiError::local(e.to_string()))
        }
        Err(err) => {
            let mut e =
                serde_wasm_bindgen::from_value::<UiError>(err.clone()).unwrap_or_else(|_| {
                    UiError::local(
                        err.as_string()
                            .unwrap_or_else(|| "The app could not do that.".into()),
                    )
                });
            // In the user's language where this app knows the sentence.
            e.message = leptos::prelude::untrack(|| {
                crate::i18n::server_text(&e.message, crate::i18n::ERRORS)
            });
            Err(e)
        }
    }
}

/// No arguments.
#[derive(Serialize)]
pub struct NoArgs {}
