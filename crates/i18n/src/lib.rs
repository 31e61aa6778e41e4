//! English and Swahili: every text of the app by key, the wire's labels, and notifications worded
//! from their values. Shared by the UI (which follows the language chosen on screen) and the
//! shell (which words OS notifications in that same language); both pass the language in.

use kintara_api::{
    AssignmentStatus, IncidentStatus, IncidentType, ProviderType, SupportService, UrgencyLevel,
};

pub mod notification;

/// Why a provider is suggested, in `lang` (from the keys `reason.*`).
pub fn suggestion_reason(lang: Lang, r: &kintara_api::SuggestionReason) -> String {
    use kintara_api::SuggestionReason::*;
    match r {
        GivesServices { services } => {
            let names: Vec<String> = services
                .iter()
                .map(|s| support_service(lang, *s).to_lowercase())
                .collect();
            fill(lang, "reason.services", &[("services", &names.join(", "))])
        }
        Handles { kind } => fill(
            lang,
            "reason.handles",
            &[("kind", &incident_type(lang, *kind).to_lowercase())],
        ),
        GbvRescue {} => text(lang, "reason.rescue").to_owned(),
        Load {
            cases,
            max_cases,
            answer_minutes,
        } => fill(
            lang,
            "reason.load",
            &[
                ("a", &cases.to_string()),
                ("b", &max_cases.to_string()),
                ("m", &answer_minutes.to_string()),
            ],
        ),
    }
}
pub mod refusal;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Sw,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sw => "sw",
        }
    }

    /// The language of a code (`en`, `sw`); `None` for one this app does not speak.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "sw" => Some(Lang::Sw),
            _ => None,
        }
    }
}

static EN: &[(&str, &str)] = &[
    ("nav.home", "Home"),
    ("nav.chat", "Chat"),
    ("nav.notifications", "Notifications"),
    ("nav.outbox", "Outbox"),
    ("nav.safety", "Safety"),
    ("nav.settings", "Settings"),
    ("frame.quick_exit", "Quick exit"),
    ("frame.language", "Language"),
    ("home.hello", "Hello, "),
    ("home.sign_out", "Sign out"),
    ("home.new_report", "Report an incident"),
    ("home.my_reports", "My reports"),
    ("home.danger", "In danger right now?"),
    ("home.call", "Call the free GBV hotline "),
    ("home.hours", " (24 hours) or the police on "),
    ("safety.title", "Safety"),
    ("safety.call_title", "Call for help"),
    ("safety.hotline", "GBV hotline (free, 24 hours)"),
    ("safety.police", "Police"),
    ("safety.contacts", "Emergency contacts"),
    ("safety.contacts_hint", "Kept on this device only, never sent anywhere."),
    ("safety.no_contacts", "No contacts yet."),
    ("safety.name", "Name"),
    ("safety.phone", "Phone"),
    ("safety.add", "Add"),
    ("safety.remove", "Remove"),
    ("safety.need_both", "Enter a name and a phone number."),
    ("safety.note_title", "Staying safe"),
    (
        "safety.note",
        "Use Quick exit (or press Escape three times) if someone comes near. Clear this app from your recent apps if your phone may be checked. Trust your instincts.",
    ),
    ("settings.title", "Settings"),
    ("privacy.title", "What others see in chat"),
    ("privacy.read", "Read receipts"),
    ("privacy.typing", "When I am typing"),
    ("privacy.presence", "When I am online"),
    ("privacy.saved", "Saved."),
    ("privacy.loading", "Loading…"),
    ("unlock.title", "Enter your PIN"),
    ("unlock.hint", "What this app keeps on this device is locked."),
    ("unlock.pin", "PIN"),
    ("unlock.submit", "Unlock"),
    ("unlock.busy", "Unlocking…"),
    ("unlock.empty", "Enter your PIN."),
    ("unlock.wrong", "That PIN is not right."),
    ("unlock.wait", "Too many wrong PINs. Try again in {n} seconds."),
    ("unlock.biometric", "Use fingerprint or face"),
    ("pin.choose_title", "Choose a PIN"),
    (
        "pin.choose_hint",
        "This device has no secure key store, so a PIN protects what the app keeps here. You will need it each time you open the app.",
    ),
    ("pin.new", "New PIN (at least 6 digits)"),
    ("pin.confirm", "Repeat the PIN"),
    ("pin.save", "Save PIN"),
    ("pin.rule", "A PIN is at least 6 digits, and only digits."),
    ("pin.mismatch", "The two PINs do not match."),
    ("pin.change_title", "Change PIN"),
    ("pin.old", "Current PIN"),
    ("pin.changed", "PIN changed."),
    (
        "pin.unavailable",
        "The system key store that holds this device's key does not answer. Unlock your keyring, then try again.",
    ),
    ("pin.retry", "Try again"),
    ("biometric.title", "Fingerprint or face unlock"),
    ("biometric.enable", "Turn on"),
    ("biometric.on", "You can now unlock with your fingerprint or face."),
    ("frame.nav", "Main"),
    ("frame.bell", "Notifications, {n} unread"),
    ("conn.online", "Online"),
    ("conn.connecting", "Connecting…"),
    ("conn.offline", "Offline — retrying"),
    ("conn.polling", "Live by polling"),
    ("conn.logged_out", "Signed out"),
    ("home.signed_out", "You are signed out."),
    (
        "home.unsent",
        "{n} item(s) have not reached Kintara yet. Signing out deletes them from this device.",
    ),
    ("home.stay", "Stay signed in"),
    ("home.sign_out_anyway", "Sign out and delete them"),
    ("home.not_signed_in", "Not signed in."),
    ("case.filed", " · Filed "),
    ("provider.pending_title", "Offered to you"),
    ("provider.pending_empty", "No cases waiting for your answer."),
    ("provider.active_title", "Your active cases"),
    ("provider.active_empty", "No active cases."),
    ("provider.reason_needed", "Say why you decline."),
    ("provider.sending", "Sending…"),
    ("provider.accept", "Accept"),
    ("provider.decline", "Decline"),
    ("provider.why_decline", "Why do you decline?"),
    ("provider.confirm_decline", "Confirm decline"),
    ("provider.start", "Start work"),
    ("provider.complete", "Mark completed"),
    ("provider.open_chat", "Open chat"),
    ("dispatch.stats", "Dashboard"),
    ("dispatch.stat_total", "Cases in total"),
    ("dispatch.stat_pending", "Waiting for review"),
    ("dispatch.stat_urgent", "Urgent, unassigned"),
    ("dispatch.stat_active", "Active"),
    ("dispatch.stat_available", "Providers available"),
    ("dispatch.queue_title", "Waiting for review"),
    ("dispatch.waiting", "Waiting "),
    ("dispatch.minutes", "{n} min"),
    ("dispatch.hours", "{n} h"),
    ("dispatch.days", "{n} days"),
    ("dispatch.assign", "Assign"),
    ("dispatch.queue_empty", "No case is waiting for review."),
    ("dispatch.all_title", "All cases"),
    ("dispatch.filter", "Show cases"),
    ("dispatch.every_status", "Every status"),
    ("dispatch.filter_urgency", "Show urgency"),
    ("dispatch.every_urgency", "Every urgency"),
    ("dispatch.filter_type", "Show type"),
    ("dispatch.every_type", "Every type"),
    ("dispatch.assign_title", "Assign "),
    ("dispatch.close", "Close"),
    ("dispatch.loading", "Loading suggestions…"),
    ("dispatch.no_fit", "No provider fits this case right now."),
    ("dispatch.assign_to", "Assign to "),
    ("directory.title", "Providers"),
    ("directory.unavailable", "Unavailable"),
    ("directory.full", "Full"),
    ("directory.available", "Available"),
    ("directory.load", "{a} of {b} cases"),
    ("directory.empty", "No providers yet."),
    ("reassign.reason_needed", "Say why the case moves."),
    ("reassign.open", "Reassign"),
    ("reassign.no_fit", "No other provider fits this case right now."),
    ("reassign.choose", "Choose"),
    ("reassign.why", "Why move it to {name}?"),
    ("reassign.confirm", "Confirm reassign"),
    ("notifications.title", "Notifications"),
    ("notifications.mark_all", "Mark all read"),
    ("notifications.show", "Show"),
    ("notifications.all", "All"),
    ("notifications.unread", "Unread"),
    ("notifications.none_unread", "No unread notifications."),
    ("notifications.none", "No notifications."),
    ("server.title", "Server address"),
    ("server.hint", "The address of the Kintara server your organisation runs."),
    ("server.checking", "Checking…"),
    ("server.connect", "Connect"),
    ("server.back", "Back to sign in"),
    ("signin.hint", "Safe, confidential help. Sign in to continue."),
    ("signin.need_both", "Enter your e-mail and password."),
    ("signin.email", "E-mail"),
    ("signin.password", "Password"),
    ("signin.busy", "Signing in…"),
    ("signin.submit", "Sign in"),
    ("signin.register", "Create an account"),
    ("signin.server", "Server: "),
    ("signin.change", "Change"),
    ("register.title", "Create an account"),
    ("register.i_am", "I am"),
    ("register.survivor", " seeking help"),
    ("register.provider", " a service provider"),
    ("register.kind", "Kind of help you give"),
    ("register.choose", "Choose…"),
    ("register.anonymous", " Stay anonymous (no name needed)"),
    ("register.first", "First name"),
    ("register.last", "Last name"),
    ("register.password", "Password (at least 8 characters)"),
    ("register.confirm", "Repeat the password"),
    ("register.attention", "Some fields need attention."),
    ("register.busy", "Creating…"),
    ("register.submit", "Create account"),
    ("register.have_account", "I already have an account"),
    ("outbox.title", "Outbox"),
    ("outbox.hint", "What you did while the connection was poor is sent here, in order."),
    ("outbox.tried", "Tried {n} times"),
    ("outbox.retry", "Retry"),
    ("outbox.discard", "Discard"),
    ("outbox.empty", "Nothing waiting to be sent."),
    ("outbox.message", "Message: "),
    ("outbox.report", "A report"),
    ("outbox.attachment", "A file for a report"),
    ("availability.label", "Available for new cases"),
    ("availability.on", "You can be offered new cases."),
    ("availability.off", "You are not offered new cases."),
    ("availability.stale", "Offline: this is the last state this device saw."),
    ("outbox.accept", "Accepting a case"),
    ("outbox.reject", "Declining a case"),
    ("outbox.status", "A case status update"),
    ("outbox.mark_read", "Marking messages read"),
    ("outbox.sending", "Sending…"),
    ("outbox.failed", "Failed"),
    ("outbox.waiting", "Waiting to send"),
    // Notifications, worded from their values (`screens/notifications.rs`): `{num}` a case
    // number, `{urgency}` an urgency in lower case, `{what}` "{type} ({urgency})", `{name}` a
    // person as the server names them.
    ("notif.case_update", "Your case has an update."),
    ("notif.you_have_message", "You have a new message."),
    ("notif.new_report", "New report {num}"),
    ("notif.loud_report", "{urgency} report {num}"),
    ("notif.waiting_triage", "{what} is waiting for triage."),
    ("notif.sent_to_rescue", "{what} was sent to a GBV rescue provider automatically."),
    ("notif.assigned", "Case {num} assigned to you"),
    ("notif.answer_it", "{what}. Accept or decline it."),
    ("notif.accepted", "Case {num} accepted"),
    ("notif.accepted_by", "{name} accepted the case."),
    ("notif.declined", "Case {num} declined"),
    ("notif.declined_by", "{name} declined the case; it needs another provider."),
    ("notif.new_message", "New message"),
    ("notif.message_from", "{name} sent you a message."),
    ("reason.services", "gives the requested {services}"),
    ("reason.handles", "handles {kind}"),
    ("reason.rescue", "GBV rescue"),
    ("reason.load", "{a} of {b} cases, answers in about {m} min"),
    ("wizard.back", "‹ Back"),
    ("wizard.title", "Report an incident"),
    ("wizard.step", "Step {n} of {total}"),
    ("wizard.next", "Next"),
    ("wizard.sending", "Sending…"),
    ("wizard.send", "Send report"),
    ("wizard.need_type", "Choose what happened."),
    ("wizard.need_date", "Enter the date as YYYY-MM-DD."),
    ("wizard.need_time", "Enter the time as HH:MM, or leave it empty."),
    ("wizard.fix", "Some answers need attention; go back to fix them."),
    ("wizard.rescue", "A rescue team has been alerted."),
    ("wizard.dispatcher", "A dispatcher will review it."),
    ("wizard.sent", "Your report {num} was sent. {next}"),
    ("wizard.saved", "Your report is saved on this device. It could not be sent yet because there is no connection to Kintara; it will be sent automatically as soon as the connection is back. You do not need to do anything."),
    ("wizard.what_q", "What happened?"),
    ("wizard.date", "Date"),
    ("wizard.time", "Time (optional)"),
    ("wizard.where", "Where did it happen?"),
    ("wizard.where_hint", "Area, street or landmark"),
    ("wizard.place", "Anything about the place (optional)"),
    ("wizard.description", "What happened? Share only what you are comfortable with."),
    ("wizard.help_q", "What help would you like?"),
    ("wizard.urgency_q", "How urgent is it?"),
    ("wizard.immediate", "Life-threatening: I need help right now."),
    ("wizard.urgent", "Serious: I need help soon."),
    ("wizard.routine", "I would like help, it is not an emergency."),
    ("wizard.contact_q", "How may we contact you?"),
    ("contact.sms", "Text message (SMS)"),
    ("contact.call", "Phone call"),
    ("contact.secure_message", "Secure app message"),
    ("wizard.r_what", "What happened"),
    ("wizard.r_when", "When"),
    ("wizard.r_where", "Where"),
    ("wizard.r_help", "Help wanted"),
    ("wizard.r_urgency", "Urgency"),
    ("wizard.r_contact", "Contact"),
    ("wizard.anonymous", " Report anonymously: providers will not see my name."),
    ("wizard.privacy", "Your report goes only to Kintara's dispatchers and the providers they assign to help you."),
    ("evidence.title", "Evidence (optional)"),
    ("evidence.hint", "Photos, voice recordings or documents (PDF, Word, OpenDocument) that show what happened: up to {max} files; a photo at most {image} MB, a recording {audio} MB, a document {doc} MB. They are sent with your report."),
    ("evidence.hint_size", "Photos, voice recordings or documents (PDF, Word, OpenDocument) that show what happened; a photo at most {image} MB, a recording {audio} MB, a document {doc} MB. They are sent with your report."),
    ("evidence.add", "Add photos, recordings or documents"),
    ("evidence.list", "Files to send with the report"),
    ("evidence.none", "No files added."),
    ("evidence.remove", "Remove"),
    ("evidence.remove_named", "Remove {name}"),
    ("evidence.empty", "\"{name}\" is empty, so it was not added."),
    ("evidence.too_large", "\"{name}\" is {size} MB; a file can be at most {max} MB, so it was not added."),
    ("evidence.too_many", "A report can carry at most {max} files. Remove one to add another."),
    ("evidence.unreadable", "\"{name}\" could not be read, so it was not added."),
    ("evidence.unreadable_any", "A file could not be prepared for sending."),
    ("evidence.record", "Record a voice note"),
    ("evidence.stop", "Stop recording"),
    ("evidence.recording", "Recording. Press \"Stop recording\" when you are done."),
    ("evidence.seconds", "{n} s"),
    ("evidence.recorded", "Voice note added to the list."),
    ("evidence.record_failed", "The recording did not work. You can try again, or add files instead."),
    ("evidence.no_mic", "This device cannot record sound here. You can still add files and send your report."),
    ("evidence.denied", "The microphone could not be used: permission was refused, or there is no microphone. You can still add files and send your report."),
    ("evidence.kb", "{n} KB"),
    ("evidence.mb", "{n} MB"),
    ("reports.sending", "Sending…"),
    ("reports.failed", "Not sent"),
    ("reports.waiting", "Waiting for connection"),
    ("reports.offline", "You are offline. Reports already sent will show here when the connection is back."),
    ("reports.sent_one", "Your report {num} was sent. Kintara has it now."),
    ("reports.sent_many", "Your reports were sent. Kintara has them now."),
    ("reports.home", "‹ Home"),
    ("reports.title", "My reports"),
    ("reports.refresh", "Refresh"),
    ("reports.queued", "Reports waiting to be sent"),
    ("reports.not_sent_yet", "Not sent yet"),
    ("reports.a_report", "A report"),
    ("reports.saved", "Saved on this device "),
    ("reports.rejected", "Kintara could not accept this report: "),
    ("reports.open_outbox", "Open the outbox"),
    ("reports.automatic", "It will be sent automatically when the connection is back. You do not need to do anything."),
    ("reports.loading", "Loading…"),
    ("reports.empty", "You have not filed a report yet."),
    ("reports.helping", "Helping you: "),
    ("reports.filed", "Filed "),
    ("reports.open_chat", "Open chat"),
    ("reports.history", "Status history"),
    ("reports.hide_history", "Hide status history"),
    ("chat.not_open", "This case's chat is not open yet."),
    ("chat.conversations", "Conversations"),
    ("chat.someone_online", "someone here is online"),
    ("chat.nobody_online", "nobody here is online"),
    ("chat.unread", "{n} unread"),
    ("chat.no_rooms", "No conversations yet. A case's chat opens once a provider accepts it."),
    ("chat.choose", "Choose a conversation."),
    ("chat.deleted", "Message deleted"),
    ("chat.older_one", "1 earlier message loaded."),
    ("chat.older_many", "{n} earlier messages loaded."),
    ("chat.back", "Back to conversations"),
    ("chat.conversation", "Conversation"),
    ("chat.people", "People in this conversation"),
    ("chat.closed", "This conversation is closed: you can read it but not reply."),
    ("chat.loading_older", "Loading earlier messages…"),
    ("chat.load_older", "Load earlier messages"),
    ("chat.beginning", "Beginning of the conversation"),
    ("chat.read", "Read"),
    ("chat.not_sent", "Not sent: {error}"),
    ("chat.sending", "Sending…"),
    ("chat.no_messages", "No messages yet."),
    ("chat.message", "Message"),
    ("chat.placeholder", "Write a message (Ctrl+Enter sends)"),
    ("chat.send", "Send"),
    ("chat.someone", "Someone"),
    ("chat.typing_one", "{name} is typing…"),
    ("chat.typing_many", "{names} are typing…"),
    ("chat.online", "online"),
    ("chat.offline", "offline"),
    // The server's and the shell's own sentences, by their exact English (the UI reads the
    // values back out of it; `src/i18n.rs`, ERRORS).
    ("error.sign_in_do", "Sign in to do this."),
    ("error.sign_in_see", "Sign in to see this."),
    (
        "error.unreachable",
        "Cannot reach the Kintara server. Check the server address and your connection.",
    ),
    ("error.logged_out", "Your session has ended. Please sign in again."),
];

static SW: &[(&str, &str)] = &[
    ("nav.home", "Nyumbani"),
    ("nav.chat", "Gumzo"),
    ("nav.notifications", "Arifa"),
    ("nav.outbox", "Zinazosubiri"),
    ("nav.safety", "Usalama"),
    ("nav.settings", "Mipangilio"),
    ("frame.quick_exit", "Toka haraka"),
    ("frame.language", "Lugha"),
    ("home.hello", "Habari, "),
    ("home.sign_out", "Ondoka"),
    ("home.new_report", "Ripoti tukio"),
    ("home.my_reports", "Ripoti zangu"),
    ("home.danger", "Uko hatarini sasa hivi?"),
    ("home.call", "Piga simu ya bure ya msaada wa GBV "),
    ("home.hours", " (saa 24) au polisi kwa "),
    ("safety.title", "Usalama"),
    ("safety.call_title", "Piga simu kupata msaada"),
    ("safety.hotline", "Simu ya msaada wa GBV (bure, saa 24)"),
    ("safety.police", "Polisi"),
    ("safety.contacts", "Watu wa dharura"),
    ("safety.contacts_hint", "Wanahifadhiwa kwenye kifaa hiki tu, hawatumwi popote."),
    ("safety.no_contacts", "Bado hakuna watu."),
    ("safety.name", "Jina"),
    ("safety.phone", "Simu"),
    ("safety.add", "Ongeza"),
    ("safety.remove", "Ondoa"),
    ("safety.need_both", "Weka jina na namba ya simu."),
    ("safety.note_title", "Kuwa salama"),
    (
        "safety.note",
        "Tumia Toka haraka (au bonyeza Escape mara tatu) mtu akikaribia. Futa programu hii kwenye programu za hivi karibuni ikiwa simu yako inaweza kukaguliwa. Amini hisia zako.",
    ),
    ("settings.title", "Mipangilio"),
    ("privacy.title", "Wengine wanachoona kwenye gumzo"),
    ("privacy.read", "Taarifa za kusomwa"),
    ("privacy.typing", "Ninapoandika"),
    ("privacy.presence", "Nikiwa mtandaoni"),
    ("privacy.saved", "Imehifadhiwa."),
    ("privacy.loading", "Inapakia…"),
    ("unlock.title", "Weka PIN yako"),
    ("unlock.hint", "Kile programu hii inachohifadhi kwenye kifaa hiki kimefungwa."),
    ("unlock.pin", "PIN"),
    ("unlock.submit", "Fungua"),
    ("unlock.busy", "Inafungua…"),
    ("unlock.empty", "Weka PIN yako."),
    ("unlock.wrong", "PIN hiyo si sahihi."),
    ("unlock.wait", "PIN zisizo sahihi ni nyingi mno. Jaribu tena baada ya sekunde {n}."),
    ("unlock.biometric", "Tumia alama ya kidole au uso"),
    ("pin.choose_title", "Chagua PIN"),
    (
        "pin.choose_hint",
        "Kifaa hiki hakina hifadhi salama ya funguo, kwa hiyo PIN inalinda kile programu inachohifadhi hapa. Utaihitaji kila unapofungua programu.",
    ),
    ("pin.new", "PIN mpya (angalau tarakimu 6)"),
    ("pin.confirm", "Rudia PIN"),
    ("pin.save", "Hifadhi PIN"),
    ("pin.rule", "PIN ni angalau tarakimu 6, na tarakimu pekee."),
    ("pin.mismatch", "PIN hizo mbili hazilingani."),
    ("pin.change_title", "Badilisha PIN"),
    ("pin.old", "PIN ya sasa"),
    ("pin.changed", "PIN imebadilishwa."),
    (
        "pin.unavailable",
        "Hifadhi ya funguo ya mfumo inayoshikilia ufunguo wa kifaa hiki haijibu. Fungua keyring yako, kisha ujaribu tena.",
    ),
    ("pin.retry", "Jaribu tena"),
    ("biometric.title", "Kufungua kwa alama ya kidole au uso"),
    ("biometric.enable", "Washa"),
    ("biometric.on", "Sasa unaweza kufungua kwa alama ya kidole au uso."),
    ("frame.nav", "Kuu"),
    ("frame.bell", "Arifa, {n} hazijasomwa"),
    ("conn.online", "Mtandaoni"),
    ("conn.connecting", "Inaunganisha…"),
    ("conn.offline", "Hakuna mtandao — inajaribu tena"),
    ("conn.polling", "Inakagua mara kwa mara"),
    ("conn.logged_out", "Umetoka"),
    ("home.signed_out", "Umetoka."),
    (
        "home.unsent",
        "Vitu {n} bado havijafika Kintara. Ukiondoka, vitafutwa kwenye kifaa hiki.",
    ),
    ("home.stay", "Endelea kuwa ndani"),
    ("home.sign_out_anyway", "Ondoka na uvifute"),
    ("home.not_signed_in", "Hujaingia."),
    ("case.filed", " · Iliripotiwa "),
    ("provider.pending_title", "Kesi ulizopewa"),
    ("provider.pending_empty", "Hakuna kesi inayosubiri jibu lako."),
    ("provider.active_title", "Kesi zako zinazoendelea"),
    ("provider.active_empty", "Hakuna kesi zinazoendelea."),
    ("provider.reason_needed", "Sema kwa nini unakataa."),
    ("provider.sending", "Inatuma…"),
    ("provider.accept", "Kubali"),
    ("provider.decline", "Kataa"),
    ("provider.why_decline", "Kwa nini unakataa?"),
    ("provider.confirm_decline", "Thibitisha kukataa"),
    ("provider.start", "Anza kazi"),
    ("provider.complete", "Maliza kesi"),
    ("provider.open_chat", "Fungua gumzo"),
    ("dispatch.stats", "Muhtasari"),
    ("dispatch.stat_total", "Kesi zote"),
    ("dispatch.stat_pending", "Zinasubiri ukaguzi"),
    ("dispatch.stat_urgent", "Za haraka, hazijakabidhiwa"),
    ("dispatch.stat_active", "Zinaendelea"),
    ("dispatch.stat_available", "Watoa huduma wanaopatikana"),
    ("dispatch.queue_title", "Zinasubiri ukaguzi"),
    ("dispatch.waiting", "Imesubiri "),
    ("dispatch.minutes", "dakika {n}"),
    ("dispatch.hours", "saa {n}"),
    ("dispatch.days", "siku {n}"),
    ("dispatch.assign", "Kabidhi"),
    ("dispatch.queue_empty", "Hakuna kesi inayosubiri ukaguzi."),
    ("dispatch.all_title", "Kesi zote"),
    ("dispatch.filter", "Onyesha kesi"),
    ("dispatch.every_status", "Hali zote"),
    ("dispatch.filter_urgency", "Onyesha uharaka"),
    ("dispatch.every_urgency", "Uharaka wote"),
    ("dispatch.filter_type", "Onyesha aina"),
    ("dispatch.every_type", "Aina zote"),
    ("dispatch.assign_title", "Kabidhi "),
    ("dispatch.close", "Funga"),
    ("dispatch.loading", "Inapakia mapendekezo…"),
    ("dispatch.no_fit", "Hakuna mtoa huduma anayefaa kesi hii kwa sasa."),
    ("dispatch.assign_to", "Mkabidhi "),
    ("directory.title", "Watoa huduma"),
    ("directory.unavailable", "Hapatikani"),
    ("directory.full", "Amejaa"),
    ("directory.available", "Anapatikana"),
    ("directory.load", "kesi {a} kati ya {b}"),
    ("directory.empty", "Bado hakuna watoa huduma."),
    ("reassign.reason_needed", "Sema kwa nini kesi inahamishwa."),
    ("reassign.open", "Hamisha"),
    ("reassign.no_fit", "Hakuna mtoa huduma mwingine anayefaa kesi hii kwa sasa."),
    ("reassign.choose", "Chagua"),
    ("reassign.why", "Kwa nini uihamishie kwa {name}?"),
    ("reassign.confirm", "Thibitisha kuhamisha"),
    ("notifications.title", "Arifa"),
    ("notifications.mark_all", "Zote zimesomwa"),
    ("notifications.show", "Onyesha"),
    ("notifications.all", "Zote"),
    ("notifications.unread", "Hazijasomwa"),
    ("notifications.none_unread", "Hakuna arifa ambazo hazijasomwa."),
    ("notifications.none", "Hakuna arifa."),
    ("server.title", "Anwani ya seva"),
    ("server.hint", "Anwani ya seva ya Kintara inayoendeshwa na shirika lako."),
    ("server.checking", "Inakagua…"),
    ("server.connect", "Unganisha"),
    ("server.back", "Rudi kuingia"),
    ("signin.hint", "Msaada salama na wa siri. Ingia ili kuendelea."),
    ("signin.need_both", "Weka barua pepe na nenosiri lako."),
    ("signin.email", "Barua pepe"),
    ("signin.password", "Nenosiri"),
    ("signin.busy", "Inaingia…"),
    ("signin.submit", "Ingia"),
    ("signin.register", "Fungua akaunti"),
    ("signin.server", "Seva: "),
    ("signin.change", "Badilisha"),
    ("register.title", "Fungua akaunti"),
    ("register.i_am", "Mimi ni"),
    ("register.survivor", " mtu anayetafuta msaada"),
    ("register.provider", " mtoa huduma"),
    ("register.kind", "Aina ya msaada unaotoa"),
    ("register.choose", "Chagua…"),
    ("register.anonymous", " Usijulikane (jina halihitajiki)"),
    ("register.first", "Jina la kwanza"),
    ("register.last", "Jina la ukoo"),
    ("register.password", "Nenosiri (angalau herufi 8)"),
    ("register.confirm", "Rudia nenosiri"),
    ("register.attention", "Baadhi ya sehemu zinahitaji kurekebishwa."),
    ("register.busy", "Inafungua akaunti…"),
    ("register.submit", "Fungua akaunti"),
    ("register.have_account", "Tayari nina akaunti"),
    ("outbox.title", "Zinazosubiri"),
    ("outbox.hint", "Ulichofanya mtandao ukiwa dhaifu kinatumwa kutoka hapa, kwa mpangilio."),
    ("outbox.tried", "Imejaribiwa mara {n}"),
    ("outbox.retry", "Jaribu tena"),
    ("outbox.discard", "Futa"),
    ("outbox.empty", "Hakuna kinachosubiri kutumwa."),
    ("outbox.message", "Ujumbe: "),
    ("outbox.report", "Ripoti"),
    ("outbox.attachment", "Faili ya ripoti"),
    ("availability.label", "Napatikana kwa kesi mpya"),
    ("availability.on", "Unaweza kupewa kesi mpya."),
    ("availability.off", "Hupewi kesi mpya kwa sasa."),
    ("availability.stale", "Nje ya mtandao: hii ni hali ya mwisho kifaa hiki kilijua."),
    ("outbox.accept", "Kukubali kesi"),
    ("outbox.reject", "Kukataa kesi"),
    ("outbox.status", "Kubadilisha hali ya kesi"),
    ("outbox.mark_read", "Kuweka ujumbe kuwa umesomwa"),
    ("outbox.sending", "Inatuma…"),
    ("outbox.failed", "Imeshindwa"),
    ("outbox.waiting", "Inasubiri kutumwa"),
    ("notif.case_update", "Kesi yako ina taarifa mpya."),
    ("notif.you_have_message", "Una ujumbe mpya."),
    ("notif.new_report", "Ripoti mpya {num}"),
    ("notif.loud_report", "Ripoti ya {urgency} {num}"),
    ("notif.waiting_triage", "{what} inasubiri ukaguzi."),
    ("notif.sent_to_rescue", "{what} imetumwa kwa mtoa huduma wa uokoaji wa GBV moja kwa moja."),
    ("notif.assigned", "Umekabidhiwa kesi {num}"),
    ("notif.answer_it", "{what}. Ikubali au uikatae."),
    ("notif.accepted", "Kesi {num} imekubaliwa"),
    ("notif.accepted_by", "{name} amekubali kesi."),
    ("notif.declined", "Kesi {num} imekataliwa"),
    ("notif.declined_by", "{name} amekataa kesi; inahitaji mtoa huduma mwingine."),
    ("notif.new_message", "Ujumbe mpya"),
    ("notif.message_from", "{name} amekutumia ujumbe."),
    ("reason.services", "anatoa huduma iliyoombwa: {services}"),
    ("reason.handles", "anashughulikia {kind}"),
    ("reason.rescue", "Uokoaji wa GBV"),
    ("reason.load", "kesi {a} kati ya {b}, hujibu baada ya dakika {m} hivi"),
    ("wizard.back", "‹ Rudi"),
    ("wizard.title", "Ripoti tukio"),
    ("wizard.step", "Hatua {n} kati ya {total}"),
    ("wizard.next", "Endelea"),
    ("wizard.sending", "Inatuma…"),
    ("wizard.send", "Tuma ripoti"),
    ("wizard.need_type", "Chagua kilichotokea."),
    ("wizard.need_date", "Weka tarehe kwa mpangilio YYYY-MM-DD."),
    ("wizard.need_time", "Weka saa kwa mpangilio HH:MM, au uiache wazi."),
    ("wizard.fix", "Baadhi ya majibu yanahitaji kurekebishwa; rudi nyuma uyarekebishe."),
    ("wizard.rescue", "Timu ya uokoaji imearifiwa."),
    ("wizard.dispatcher", "Mratibu ataikagua."),
    ("wizard.sent", "Ripoti yako {num} imetumwa. {next}"),
    ("wizard.saved", "Ripoti yako imehifadhiwa kwenye kifaa hiki. Bado haijatumwa kwa sababu hakuna mawasiliano na Kintara; itatumwa yenyewe mara tu mtandao utakaporudi. Huhitaji kufanya chochote."),
    ("wizard.what_q", "Nini kilitokea?"),
    ("wizard.date", "Tarehe"),
    ("wizard.time", "Saa (si lazima)"),
    ("wizard.where", "Ilitokea wapi?"),
    ("wizard.where_hint", "Eneo, barabara au alama inayojulikana"),
    ("wizard.place", "Maelezo kuhusu mahali (si lazima)"),
    ("wizard.description", "Nini kilitokea? Eleza tu kile unachoweza kueleza bila wasiwasi."),
    ("wizard.help_q", "Ungependa msaada gani?"),
    ("wizard.urgency_q", "Ni ya haraka kiasi gani?"),
    ("wizard.immediate", "Hatari kwa maisha: nahitaji msaada sasa hivi."),
    ("wizard.urgent", "Ni hali mbaya: nahitaji msaada hivi karibuni."),
    ("wizard.routine", "Ningependa msaada, si dharura."),
    ("wizard.contact_q", "Tuwasiliane nawe vipi?"),
    ("contact.sms", "Ujumbe mfupi (SMS)"),
    ("contact.call", "Kupigiwa simu"),
    ("contact.secure_message", "Ujumbe salama kwenye programu"),
    ("wizard.r_what", "Kilichotokea"),
    ("wizard.r_when", "Lini"),
    ("wizard.r_where", "Wapi"),
    ("wizard.r_help", "Msaada unaotaka"),
    ("wizard.r_urgency", "Uharaka"),
    ("wizard.r_contact", "Mawasiliano"),
    ("wizard.anonymous", " Ripoti bila kujulikana: watoa huduma hawataona jina langu."),
    ("wizard.privacy", "Ripoti yako inafika tu kwa waratibu wa Kintara na watoa huduma wanaowakabidhi kukusaidia."),
    ("evidence.title", "Ushahidi (si lazima)"),
    ("evidence.hint", "Picha, rekodi za sauti au nyaraka (PDF, Word, OpenDocument) zinazoonyesha kilichotokea: hadi faili {max}; picha isizidi MB {image}, rekodi MB {audio}, hati MB {doc}. Zitatumwa pamoja na ripoti yako."),
    ("evidence.hint_size", "Picha, rekodi za sauti au nyaraka (PDF, Word, OpenDocument) zinazoonyesha kilichotokea; picha isizidi MB {image}, rekodi MB {audio}, hati MB {doc}. Zitatumwa pamoja na ripoti yako."),
    ("evidence.add", "Ongeza picha, rekodi au nyaraka"),
    ("evidence.list", "Faili zitakazotumwa pamoja na ripoti"),
    ("evidence.none", "Hakuna faili zilizoongezwa."),
    ("evidence.remove", "Ondoa"),
    ("evidence.remove_named", "Ondoa {name}"),
    ("evidence.empty", "\"{name}\" haina kitu, kwa hiyo haijaongezwa."),
    ("evidence.too_large", "\"{name}\" ina MB {size}; faili moja isizidi MB {max}, kwa hiyo haijaongezwa."),
    ("evidence.too_many", "Ripoti moja inaweza kubeba faili zisizozidi {max}. Ondoa moja ili kuongeza nyingine."),
    ("evidence.unreadable", "\"{name}\" haikuweza kusomwa, kwa hiyo haijaongezwa."),
    ("evidence.unreadable_any", "Faili moja haikuweza kuandaliwa kutumwa."),
    ("evidence.record", "Rekodi ujumbe wa sauti"),
    ("evidence.stop", "Acha kurekodi"),
    ("evidence.recording", "Inarekodi. Bonyeza \"Acha kurekodi\" ukimaliza."),
    ("evidence.seconds", "sekunde {n}"),
    ("evidence.recorded", "Ujumbe wa sauti umeongezwa kwenye orodha."),
    ("evidence.record_failed", "Kurekodi hakukufanikiwa. Unaweza kujaribu tena, au kuongeza faili badala yake."),
    ("evidence.no_mic", "Kifaa hiki hakiwezi kurekodi sauti hapa. Bado unaweza kuongeza faili na kutuma ripoti yako."),
    ("evidence.denied", "Maikrofoni haikuweza kutumika: ruhusa imekataliwa, au hakuna maikrofoni. Bado unaweza kuongeza faili na kutuma ripoti yako."),
    ("evidence.kb", "KB {n}"),
    ("evidence.mb", "MB {n}"),
    ("reports.sending", "Inatuma…"),
    ("reports.failed", "Haijatumwa"),
    ("reports.waiting", "Inasubiri mtandao"),
    ("reports.offline", "Huna mtandao. Ripoti ulizokwisha kutuma zitaonekana hapa mtandao ukirudi."),
    ("reports.sent_one", "Ripoti yako {num} imetumwa. Kintara imeipokea sasa."),
    ("reports.sent_many", "Ripoti zako zimetumwa. Kintara imezipokea sasa."),
    ("reports.home", "‹ Nyumbani"),
    ("reports.title", "Ripoti zangu"),
    ("reports.refresh", "Onyesha upya"),
    ("reports.queued", "Ripoti zinazosubiri kutumwa"),
    ("reports.not_sent_yet", "Bado haijatumwa"),
    ("reports.a_report", "Ripoti"),
    ("reports.saved", "Imehifadhiwa kwenye kifaa hiki "),
    ("reports.rejected", "Kintara haikuweza kupokea ripoti hii: "),
    ("reports.open_outbox", "Fungua Zinazosubiri"),
    ("reports.automatic", "Itatumwa yenyewe mtandao ukirudi. Huhitaji kufanya chochote."),
    ("reports.loading", "Inapakia…"),
    ("reports.empty", "Bado hujatuma ripoti yoyote."),
    ("reports.helping", "Wanaokusaidia: "),
    ("reports.filed", "Iliripotiwa "),
    ("reports.open_chat", "Fungua gumzo"),
    ("reports.history", "Historia ya hali"),
    ("reports.hide_history", "Ficha historia ya hali"),
    ("chat.not_open", "Gumzo la kesi hii bado halijafunguliwa."),
    ("chat.conversations", "Mazungumzo"),
    ("chat.someone_online", "kuna mtu hapa aliye mtandaoni"),
    ("chat.nobody_online", "hakuna mtu hapa aliye mtandaoni"),
    ("chat.unread", "{n} hazijasomwa"),
    ("chat.no_rooms", "Bado hakuna mazungumzo. Gumzo la kesi hufunguliwa mtoa huduma akiikubali."),
    ("chat.choose", "Chagua mazungumzo."),
    ("chat.deleted", "Ujumbe umefutwa"),
    ("chat.older_one", "Ujumbe 1 wa awali umepakiwa."),
    ("chat.older_many", "Jumbe {n} za awali zimepakiwa."),
    ("chat.back", "Rudi kwenye mazungumzo"),
    ("chat.conversation", "Mazungumzo"),
    ("chat.people", "Watu katika mazungumzo haya"),
    ("chat.closed", "Mazungumzo haya yamefungwa: unaweza kuyasoma lakini huwezi kujibu."),
    ("chat.loading_older", "Inapakia jumbe za awali…"),
    ("chat.load_older", "Pakia jumbe za awali"),
    ("chat.beginning", "Mwanzo wa mazungumzo"),
    ("chat.read", "Umesomwa"),
    ("chat.not_sent", "Haujatumwa: {error}"),
    ("chat.sending", "Inatuma…"),
    ("chat.no_messages", "Bado hakuna ujumbe."),
    ("chat.message", "Ujumbe"),
    ("chat.placeholder", "Andika ujumbe (Ctrl+Enter hutuma)"),
    ("chat.send", "Tuma"),
    ("chat.someone", "Mtu fulani"),
    ("chat.typing_one", "{name} anaandika…"),
    ("chat.typing_many", "{names} wanaandika…"),
    ("chat.online", "yuko mtandaoni"),
    ("chat.offline", "hayuko mtandaoni"),
    ("error.sign_in_do", "Ingia ili kufanya hivi."),
    ("error.sign_in_see", "Ingia ili kuona hiki."),
    (
        "error.unreachable",
        "Haiwezekani kufikia seva ya Kintara. Angalia anwani ya seva na muunganisho wako.",
    ),
    ("error.logged_out", "Kipindi chako kimekwisha. Tafadhali ingia tena."),
];

fn lookup(table: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The text for `key` in `lang`; an unknown key falls back to English, then to the key itself.
pub fn text(lang: Lang, key: &str) -> &str {
    let table = match lang {
        Lang::En => EN,
        Lang::Sw => SW,
    };
    lookup(table, key)
        .or_else(|| lookup(EN, key))
        .unwrap_or(key)
}

/// `text` with each `{name}` replaced by its value, for texts that carry a number or a name
/// (word order differs between the languages, so the value cannot simply be appended).
pub fn fill(lang: Lang, key: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(text(lang, key).to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// English from `kintara-api` (one source for the wire's labels, which the server also uses
/// for its `*_display` fields), Swahili from here.
fn by_lang(lang: Lang, en: &'static str, sw: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Sw => sw,
    }
}

pub fn account_state(lang: Lang, s: kintara_api::AccountState) -> &'static str {
    use kintara_api::AccountState::*;
    by_lang(
        lang,
        s.label(),
        match s {
            Unverified => "Inasubiri uthibitisho",
            Active => "Hai",
            Suspended => "Imesimamishwa",
            Disabled => "Imezimwa",
        },
    )
}

pub fn incident_status(lang: Lang, s: IncidentStatus) -> &'static str {
    by_lang(
        lang,
        s.label(),
        match s {
            IncidentStatus::New => "Mpya",
            IncidentStatus::PendingDispatcherReview => "Inasubiri ukaguzi",
            IncidentStatus::Assigned => "Imekabidhiwa",
            IncidentStatus::InProgress => "Inashughulikiwa",
            IncidentStatus::Completed => "Imekamilika",
            IncidentStatus::Closed => "Imefungwa",
        },
    )
}

pub fn urgency(lang: Lang, u: UrgencyLevel) -> &'static str {
    by_lang(
        lang,
        u.label(),
        match u {
            UrgencyLevel::Routine => "Kawaida",
            UrgencyLevel::Urgent => "Haraka",
            UrgencyLevel::Immediate => "Dharura",
        },
    )
}

pub fn incident_type(lang: Lang, k: IncidentType) -> &'static str {
    by_lang(
        lang,
        k.label(),
        match k {
            IncidentType::Physical => "Ukatili wa kimwili",
            IncidentType::Sexual => "Ukatili wa kingono",
            IncidentType::Emotional => "Unyanyasaji wa kihisia/kisaikolojia",
            IncidentType::Economic => "Unyanyasaji wa kiuchumi",
            IncidentType::Online => "Ukatili wa kijinsia mtandaoni",
            IncidentType::Femicide => "Mauaji/Jaribio la mauaji ya mwanamke",
        },
    )
}

pub fn provider_type(lang: Lang, p: ProviderType) -> &'static str {
    by_lang(
        lang,
        p.label(),
        match p {
            ProviderType::Healthcare => "Mtoa huduma za afya",
            ProviderType::Legal => "Mtaalamu wa sheria",
            ProviderType::Police => "Polisi",
            ProviderType::Counseling => "Mshauri nasaha",
            ProviderType::Social => "Huduma za kijamii",
            ProviderType::GbvRescue => "Shirika la uokoaji wa GBV",
            ProviderType::Chw => "Mhudumu wa afya ya jamii",
        },
    )
}

pub fn assignment_status(lang: Lang, a: AssignmentStatus) -> &'static str {
    by_lang(
        lang,
        a.label(),
        match a {
            AssignmentStatus::Pending => "Inasubiri",
            AssignmentStatus::Accepted => "Imekubaliwa",
            AssignmentStatus::Rejected => "Imekataliwa",
            AssignmentStatus::Withdrawn => "Imeondolewa",
        },
    )
}

pub fn support_service(lang: Lang, s: SupportService) -> &'static str {
    by_lang(
        lang,
        s.label(),
        match s {
            SupportService::Medical => "Huduma ya matibabu",
            SupportService::Legal => "Msaada wa kisheria",
            SupportService::Counseling => "Ushauri nasaha",
            SupportService::Police => "Polisi",
            SupportService::Shelter => "Makazi salama",
            SupportService::Financial => "Msaada wa kifedha",
            SupportService::Emergency => "Uokoaji wa dharura",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `{name}` slots of a text, sorted.
    fn slots(text: &str) -> Vec<&str> {
        let mut out: Vec<&str> = text
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name))
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn every_text_is_in_both_languages_with_the_same_slots() {
        for (key, en) in EN {
            let sw = lookup(SW, key).unwrap_or_else(|| panic!("{key} has no Swahili"));
            assert_eq!(slots(en), slots(sw), "{key}: the slots differ");
            assert!(!sw.trim().is_empty(), "{key} is blank in Swahili");
        }
        for (key, _) in SW {
            assert!(lookup(EN, key).is_some(), "{key} has no English");
        }
        let mut keys: Vec<&str> = EN.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "a key is listed twice");
    }

    #[test]
    fn unknown_keys_fall_back_to_english_then_the_key() {
        assert_eq!(text(Lang::Sw, "nav.home"), lookup(SW, "nav.home").unwrap());
        assert_eq!(text(Lang::Sw, "no.such.key"), "no.such.key");
        assert_eq!(
            fill(Lang::Sw, "notif.assigned", &[("num", "KIN-20261122-001")]),
            "Umekabidhiwa kesi KIN-20261122-001"
        );
        assert_eq!(Lang::from_code("sw"), Some(Lang::Sw));
        assert_eq!(Lang::from_code("fr"), None);
    }
}
