//! The voice note: the microphone, the recorder, and what is recorded.

use super::*;

/// Where the voice recorder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Rec {
    Idle,
    /// Asking for the microphone.
    Starting,
    Recording,
    /// Stopped; the recording is being read into the list.
    Saving,
}

/// A recording under way: what must be stopped when it ends.
pub(super) struct Session {
    pub(super) recorder: web_sys::MediaRecorder,
    pub(super) stream: web_sys::MediaStream,
    pub(super) ticker: Option<IntervalHandle>,
}

impl Session {
    /// Stops the recorder (its `stop` event then saves the note) and frees the microphone.
    pub(super) fn end(self) {
        if let Some(t) = self.ticker {
            t.clear();
        }
        // Refused (and ignored) when the recorder has already stopped by itself.
        let _ = self.recorder.stop();
        release(&self.stream);
    }
}

/// Turns the microphone off (the OS shows it as in use until every track stops).
pub(super) fn release(stream: &web_sys::MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// What the recorder is asked to write, best first: WebM/Opus and Ogg are what browsers'
/// recorders write; MP4/AAC is WebKit's. The server accepts each of them as a recording.
pub(super) const RECORDING_TYPES: &[&str] = &[
    "audio/webm;codecs=opus",
    "audio/webm",
    "audio/ogg;codecs=opus",
    "audio/ogg",
    "audio/mp4",
];

/// Whether this web view can record: `MediaRecorder` exists and can write one of
/// `RECORDING_TYPES`. WebKitGTK has the class even where GStreamer lacks the encoders it needs
/// (its `start()` then fails), so the record button is hidden unless a type is supported.
pub(super) fn can_record() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("MediaRecorder")).unwrap_or(false)
        && RECORDING_TYPES
            .iter()
            .any(|m| web_sys::MediaRecorder::is_type_supported(m))
}

/// Asks for the microphone and starts a recorder on it.
pub(super) async fn open_recorder(state: EvidenceState) -> Result<Session, String> {
    let no_mic = || t("evidence.no_mic").to_owned();
    let navigator = web_sys::window().ok_or_else(no_mic)?.navigator();
    let has_devices = js_sys::Reflect::get(&navigator, &JsValue::from_str("mediaDevices"))
        .map(|d| !d.is_undefined() && !d.is_null())
        .unwrap_or(false);
    if !has_devices {
        return Err(no_mic());
    }
    let devices = navigator.media_devices().map_err(|_| no_mic())?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_audio(&JsValue::TRUE);
    let asked = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|_| no_mic())?;
    let stream: web_sys::MediaStream = JsFuture::from(asked)
        .await
        .map_err(|_| t("evidence.denied").to_owned())?
        .unchecked_into();
    let options = web_sys::MediaRecorderOptions::new();
    if let Some(mime) = RECORDING_TYPES
        .iter()
        .find(|m| web_sys::MediaRecorder::is_type_supported(m))
    {
        options.set_mime_type(mime);
    }
    let recorder =
        web_sys::MediaRecorder::new_with_media_stream_and_media_recorder_options(&stream, &options)
            .or_else(|_| web_sys::MediaRecorder::new_with_media_stream(&stream));
    let recorder = match recorder {
        Ok(r) => r,
        Err(_) => {
            release(&stream);
            return Err(t("evidence.record_failed").into());
        }
    };
    let chunks = Rc::new(RefCell::new(Vec::<web_sys::Blob>::new()));
    let on_data = {
        let chunks = chunks.clone();
        Closure::<dyn FnMut(web_sys::BlobEvent)>::new(move |e: web_sys::BlobEvent| {
            if let Some(b) = e.data().filter(|b| b.size() > 0.0) {
                chunks.borrow_mut().push(b);
            }
        })
    };
    recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
    // Runs once, after the last `dataavailable`; it frees the data handler with it.
    let on_stop = {
        let recorder = recorder.clone();
        let stream = stream.clone();
        Closure::once_into_js(move |_: web_sys::Event| {
            recorder.set_ondataavailable(None);
            drop(on_data);
            release(&stream);
            let mime = recorder.mime_type();
            let chunks = chunks.take();
            let mime = match chunks.first() {
                Some(c) if mime.is_empty() => c.type_(),
                _ => mime,
            };
            spawn_local(state.recorded(chunks, mime));
        })
    };
    recorder.set_onstop(Some(on_stop.unchecked_ref()));
    if recorder.start().is_err() {
        release(&stream);
        return Err(t("evidence.record_failed").into());
    }
    Ok(Session {
        recorder,
        stream,
        ticker: None,
    })
}
