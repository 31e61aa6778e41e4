//! The report's evidence in the wizard: files from the device and voice notes, held until the
//! report is sent, checked against the core's and the server's limits first.

use super::*;

/// A file added to the report in the wizard, or a voice note, held until the report is sent.
#[derive(Clone)]
pub(super) struct Picked {
    /// Unique within this wizard, for removing it.
    pub(super) id: u32,
    pub(super) name: String,
    pub(super) bytes: Arc<Vec<u8>>,
}

/// The wizard's evidence: kept across its steps, sent with the report.
#[derive(Clone, Copy)]
pub(super) struct EvidenceState {
    pub(super) files: RwSignal<Vec<Picked>>,
    /// The core's limit on files per report (`evidence_limits`), once the shell has answered;
    /// `file_report` applies it again in any case.
    pub(super) max_files: RwSignal<Option<usize>>,
    /// Problems with the last files added, shown until the next addition.
    pub(super) problems: RwSignal<Vec<String>>,
    pub(super) recording: RwSignal<Rec>,
    pub(super) elapsed: RwSignal<u32>,
    /// What the recorder last said (announced: `aria-live`).
    pub(super) status: RwSignal<Option<String>>,
    pub(super) session: StoredValue<Option<Session>, LocalStorage>,
    pub(super) next_id: StoredValue<u32>,
    pub(super) voice_notes: StoredValue<u32>,
}

impl EvidenceState {
    pub(super) fn new() -> Self {
        let state = EvidenceState {
            files: RwSignal::new(Vec::new()),
            max_files: RwSignal::new(None),
            problems: RwSignal::new(Vec::new()),
            recording: RwSignal::new(Rec::Idle),
            elapsed: RwSignal::new(0),
            status: RwSignal::new(None),
            session: StoredValue::new_local(None),
            next_id: StoredValue::new(0),
            voice_notes: StoredValue::new(0),
        };
        spawn_local(async move {
            if let Ok(l) = ipc::invoke::<cmd::EvidenceLimits>(&NoArgs {}).await {
                let _ = state.max_files.try_set(Some(l.max_files));
            }
        });
        // Leaving the wizard mid-recording frees the microphone.
        on_cleanup(move || state.stop());
        state
    }

    /// How many more files fit. The `try_` reads: a recording can end after the survivor has
    /// left the wizard (Quick exit), when its signals are gone.
    pub(super) fn room_left(&self) -> usize {
        let max = self.max_files.try_get_untracked().flatten();
        let have = self.files.try_with_untracked(Vec::len).unwrap_or(0);
        max.unwrap_or(usize::MAX).saturating_sub(have)
    }

    /// Adds `bytes` as `name`, or says why not (the core's checks, in the survivor's language).
    pub(super) fn add(&self, name: String, bytes: Vec<u8>) -> Result<(), String> {
        check_size(&name, bytes.len() as u64, None)?;
        if self.room_left() == 0 {
            return Err(too_many(self.max_files.try_get_untracked().flatten()));
        }
        let id = self.next_id.try_update_value(|n| {
            *n += 1;
            *n
        });
        let picked = Picked {
            id: id.unwrap_or_default(),
            name,
            bytes: Arc::new(bytes),
        };
        self.files.try_update(|f| f.push(picked));
        Ok(())
    }

    /// Reads the chosen files, each checked before it is read.
    pub(super) async fn add_files(self, chosen: Vec<web_sys::File>) {
        let mut problems = Vec::new();
        for file in chosen {
            let name = file.name();
            let size = file.size() as u64;
            if let Err(p) = check_size(&name, size, kind_of(&file.type_())) {
                problems.push(p);
                continue;
            }
            if self.room_left() == 0 {
                problems.push(too_many(self.max_files.try_get_untracked().flatten()));
                break;
            }
            match read_blob(&file).await {
                Some(bytes) => {
                    if let Err(p) = self.add(name, bytes) {
                        problems.push(p);
                    }
                }
                None => problems.push(tf("evidence.unreadable", &[("name", &name)])),
            }
        }
        self.problems.try_set(problems);
    }

    pub(super) fn remove(&self, id: u32) {
        self.files.update(|f| f.retain(|p| p.id != id));
        self.problems.set(Vec::new());
    }

    /// Starts a recording, or says plainly why it cannot.
    pub(super) async fn start(self) {
        self.recording.set(Rec::Starting);
        self.status.set(None);
        let opened = open_recorder(self).await;
        // The survivor left the wizard while the microphone was being asked for: free it.
        if self.recording.try_get_untracked().is_none() {
            if let Ok(session) = opened {
                session.end();
            }
            return;
        }
        match opened {
            Ok(session) => {
                let started = js_sys::Date::now();
                self.elapsed.set(0);
                let elapsed = self.elapsed;
                let ticker = set_interval_with_handle(
                    move || {
                        let secs = ((js_sys::Date::now() - started) / 1000.0) as u32;
                        let _ = elapsed.try_set(secs);
                    },
                    Duration::from_millis(250),
                )
                .ok();
                self.session.set_value(Some(Session { ticker, ..session }));
                self.recording.set(Rec::Recording);
                self.status.set(Some(t("evidence.recording").into()));
            }
            Err(why) => {
                self.recording.set(Rec::Idle);
                self.status.set(Some(why));
            }
        }
    }

    /// Ends a recording; its `stop` event adds the note to the list.
    pub(super) fn stop(&self) {
        let session = self.session.try_update_value(Option::take).flatten();
        if let Some(s) = session {
            let _ = self.recording.try_set(Rec::Saving);
            s.end();
        }
    }

    /// The recorder's `stop` event: the note joins the list.
    pub(super) async fn recorded(self, chunks: Vec<web_sys::Blob>, mime: String) {
        // The wizard is gone (the report was sent, or the survivor left): nothing to add to.
        if self.files.try_with_untracked(|_| ()).is_none() {
            return;
        }
        let parts = js_sys::Array::new();
        for c in &chunks {
            parts.push(c);
        }
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(&mime);
        let bytes = match web_sys::Blob::new_with_blob_sequence_and_options(&parts, &options) {
            Ok(blob) => read_blob(&blob).await,
            Err(_) => None,
        };
        let n = self
            .voice_notes
            .try_update_value(|n| {
                *n += 1;
                *n
            })
            .unwrap_or(1);
        let name = format!("voice-note-{n}.{}", extension(&mime));
        let said = match bytes.filter(|b| !b.is_empty()) {
            None => t("evidence.record_failed").to_owned(),
            Some(bytes) => match self.add(name, bytes) {
                Ok(()) => t("evidence.recorded").to_owned(),
                Err(p) => p,
            },
        };
        let _ = self.status.try_set(Some(said));
        let _ = self.recording.try_set(Rec::Idle);
    }
}

/// The size checks, in the survivor's language: the core's (`kintara_core::Attachment::new`)
/// and, when the file's type says what it is, the server's limit for that kind, so a photo over
/// 10 MB is refused here rather than failing later in the outbox. (The server decides the kind
/// from the content; the declared type is only a good guess.)
pub(super) fn check_size(name: &str, size: u64, kind: Option<EvidenceKind>) -> Result<(), String> {
    if size == 0 {
        return Err(tf("evidence.empty", &[("name", name)]));
    }
    let max = kind.map_or(MAX_EVIDENCE_BYTES, EvidenceKind::max_bytes);
    if size > max {
        return Err(tf(
            "evidence.too_large",
            &[
                ("name", name),
                ("size", &size.div_ceil(MIB).to_string()),
                ("max", &(max / MIB).to_string()),
            ],
        ));
    }
    Ok(())
}

/// What a file's declared media type says it is, as the server will class it.
pub(super) fn kind_of(mime: &str) -> Option<EvidenceKind> {
    let top = mime.split('/').next().unwrap_or_default();
    match top {
        "image" => Some(EvidenceKind::Image),
        "audio" => Some(EvidenceKind::Audio),
        "application" | "text" => Some(EvidenceKind::Document),
        _ => None,
    }
}

/// The types the server stores (`evidence::sniff`), for the file chooser's filter.
pub(super) const ACCEPTED: &str =
    "image/jpeg,image/png,image/webp,image/gif,image/heic,image/heif,\
audio/*,.amr,.opus,application/pdf,.docx,.odt";

pub(super) fn too_many(max: Option<usize>) -> String {
    tf(
        "evidence.too_many",
        &[("max", &max.map(|m| m.to_string()).unwrap_or_default())],
    )
}

pub(super) const MIB: u64 = 1024 * 1024;

/// A size as the list shows it.
pub(super) fn size_label(bytes: u64) -> String {
    if bytes < MIB {
        tf(
            "evidence.kb",
            &[("n", &bytes.div_ceil(1024).max(1).to_string())],
        )
    } else {
        let tenths = (bytes * 10).div_ceil(MIB);
        tf(
            "evidence.mb",
            &[("n", &format!("{}.{}", tenths / 10, tenths % 10))],
        )
    }
}

/// The file name's extension for what the recorder wrote.
pub(super) fn extension(mime: &str) -> &'static str {
    let mime = mime.to_ascii_lowercase();
    if mime.contains("ogg") {
        "ogg"
    } else if mime.contains("mp4") || mime.contains("aac") || mime.contains("m4a") {
        "m4a"
    } else if mime.contains("wav") {
        "wav"
    } else {
        "webm"
    }
}

/// A file's or a recording's bytes, or `None` when the web view cannot read them.
pub(super) async fn read_blob(blob: &web_sys::Blob) -> Option<Vec<u8>> {
    let buffer = JsFuture::from(blob.array_buffer()).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The evidence part of the last step: files from the device, a voice note, the list.
#[component]
pub(super) fn EvidencePart(state: EvidenceState) -> impl IntoView {
    let recordable = can_record();
    let on_files = move |ev: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let chosen: Vec<web_sys::File> = input
            .files()
            .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
            .unwrap_or_default();
        // Cleared, so choosing the same file again (after removing it) is seen as a change.
        input.set_value("");
        state.problems.set(Vec::new());
        spawn_local(state.add_files(chosen));
    };
    let on_record = move |_| match state.recording.get_untracked() {
        Rec::Idle => spawn_local(state.start()),
        Rec::Recording => state.stop(),
        Rec::Starting | Rec::Saving => {}
    };
    // Switching to another step ends a recording (and keeps it).
    on_cleanup(move || state.stop());
    let hint = move || {
        let mb = |k: EvidenceKind| (k.max_bytes() / MIB).to_string();
        let sizes = [
            ("image", mb(EvidenceKind::Image)),
            ("audio", mb(EvidenceKind::Audio)),
            ("doc", mb(EvidenceKind::Document)),
        ];
        let sizes = sizes.iter().map(|(k, v)| (*k, v.as_str()));
        match state.max_files.get() {
            Some(max) => {
                let max = max.to_string();
                let args: Vec<_> = sizes.chain([("max", max.as_str())]).collect();
                tf("evidence.hint", &args)
            }
            None => tf("evidence.hint_size", &sizes.collect::<Vec<_>>()),
        }
    };
    view! {
        <section id="evidence" class="evidence" aria-labelledby="evidence-title">
            <h2 id="evidence-title">{move || t("evidence.title")}</h2>
            <p id="evidence-hint" class="hint">{hint}</p>
            <label for="evidence-input" class="file-pick">{move || t("evidence.add")}</label>
            <input id="evidence-input" type="file" multiple accept=ACCEPTED
                aria-describedby="evidence-hint" on:change=on_files />
            <Show when=move || recordable>
                <div class="recorder">
                    <button id="record-voice" type="button"
                        class=move || if state.recording.get() == Rec::Recording { "danger" } else { "secondary" }
                        aria-pressed=move || (state.recording.get() == Rec::Recording).to_string()
                        aria-describedby="record-status"
                        disabled=move || matches!(state.recording.get(), Rec::Starting | Rec::Saving)
                        on:click=on_record>
                        {move || if state.recording.get() == Rec::Recording {
                            t("evidence.stop")
                        } else {
                            t("evidence.record")
                        }}
                    </button>
                    <Show when=move || state.recording.get() == Rec::Recording>
                        <span id="record-elapsed" role="timer">
                            {move || tf("evidence.seconds", &[("n", &state.elapsed.get().to_string())])}
                        </span>
                    </Show>
                </div>
            </Show>
            <p id="record-status" class="hint" role="status" aria-live="polite">
                {move || state.status.get().unwrap_or_default()}
            </p>
            {move || {
                let p = state.problems.get();
                (!p.is_empty()).then(|| view! {
                    <ul id="evidence-error" class="field-error" role="alert">
                        {p.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                    </ul>
                })
            }}
            <ul id="evidence-list" class="evidence-list" aria-label=move || t("evidence.list")>
                <For each=move || state.files.get() key=|f| f.id let:file>
                    {
                        let id = file.id;
                        let name = file.name.clone();
                        let size = file.bytes.len() as u64;
                        let label = name.clone();
                        view! {
                            <li class="evidence-item" data-id=id.to_string()>
                                <span class="evidence-name">{name}</span>
                                <span class="evidence-size">{move || size_label(size)}</span>
                                <button type="button" class="link evidence-remove"
                                    aria-label=move || tf("evidence.remove_named", &[("name", &label)])
                                    on:click=move |_| state.remove(id)>
                                    {move || t("evidence.remove")}
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || state.files.with(Vec::is_empty)>
                <p id="evidence-none" class="hint">{move || t("evidence.none")}</p>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_declared_type_names_the_servers_kind() {
        assert_eq!(kind_of("image/jpeg"), Some(EvidenceKind::Image));
        assert_eq!(kind_of("audio/ogg"), Some(EvidenceKind::Audio));
        assert_eq!(kind_of("application/pdf"), Some(EvidenceKind::Document));
        assert_eq!(kind_of(""), None, "unknown: the server decides");
        assert_eq!(kind_of("video/mp4"), None);
    }

    #[test]
    fn a_recording_is_named_for_what_the_recorder_wrote() {
        assert_eq!(extension("audio/ogg;codecs=opus"), "ogg");
        assert_eq!(extension("audio/MP4"), "m4a");
        assert_eq!(extension("audio/webm;codecs=opus"), "webm");
        assert_eq!(extension("audio/wav"), "wav");
    }
}
