//! The wizard's steps: what happened; when, where and how; the help wanted; urgency and
//! contact; and the review (with the evidence part).

use super::*;

/// The words for a way to be contacted.
pub(crate) fn contact_label(c: CommunicationMethod) -> &'static str {
    match c {
        CommunicationMethod::Sms => t("contact.sms"),
        CommunicationMethod::Call => t("contact.call"),
        CommunicationMethod::SecureMessage => t("contact.secure_message"),
    }
}

pub(super) fn step_type(draft: RwSignal<Draft>, errors: Signal<Errors>) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend>{move || t("wizard.what_q")}</legend>
            {IncidentType::ALL.iter().map(|&k| view! {
                <label class="choice">
                    <input type="radio" name="type" id=format!("type-{}", k.as_str())
                        prop:checked=move || draft.with(|d| d.kind == Some(k))
                        on:change=move |_| draft.update(|d| d.kind = Some(k)) />
                    {move || i18n::incident_type(k)}
                </label>
            }).collect_view()}
        </fieldset>
        <FieldError errors=errors field="type"/>
    }
}

pub(super) fn step_details(draft: RwSignal<Draft>, errors: Signal<Errors>) -> impl IntoView {
    view! {
        <label for="incident-date">{move || t("wizard.date")}</label>
        <input id="incident-date" type="date"
            prop:value=move || draft.with(|d| d.date.clone())
            on:input=move |ev| draft.update(|d| d.date = event_target_value(&ev)) />
        <FieldError errors=errors field="incident_date"/>
        <label for="incident-time">{move || t("wizard.time")}</label>
        <input id="incident-time" type="time"
            prop:value=move || draft.with(|d| d.time.clone())
            on:input=move |ev| draft.update(|d| d.time = event_target_value(&ev)) />
        <FieldError errors=errors field="incident_time"/>
        <label for="location-address">{move || t("wizard.where")}</label>
        <input id="location-address" type="text" placeholder=move || t("wizard.where_hint")
            prop:value=move || draft.with(|d| d.address.clone())
            on:input=move |ev| draft.update(|d| d.address = event_target_value(&ev)) />
        <FieldError errors=errors field="location"/>
        <label for="location-description">{move || t("wizard.place")}</label>
        <input id="location-description" type="text"
            prop:value=move || draft.with(|d| d.place.clone())
            on:input=move |ev| draft.update(|d| d.place = event_target_value(&ev)) />
        <label for="description">{move || t("wizard.description")}</label>
        <textarea id="description" rows="6"
            prop:value=move || draft.with(|d| d.description.clone())
            on:input=move |ev| draft.update(|d| d.description = event_target_value(&ev))></textarea>
        <FieldError errors=errors field="description"/>
    }
}

pub(super) fn step_services(draft: RwSignal<Draft>, errors: Signal<Errors>) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend>{move || t("wizard.help_q")}</legend>
            {SupportService::ALL.iter().map(|&s| view! {
                <label class="choice">
                    <input type="checkbox" id=format!("service-{}", s.as_str())
                        prop:checked=move || draft.with(|d| d.services.contains(&s))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            draft.update(|d| {
                                d.services.retain(|x| *x != s);
                                if on { d.services.push(s); }
                            });
                        } />
                    {move || i18n::support_service(s)}
                </label>
            }).collect_view()}
        </fieldset>
        <FieldError errors=errors field="support_services"/>
    }
}

pub(super) fn urgency_hint(u: UrgencyLevel) -> &'static str {
    match u {
        UrgencyLevel::Immediate => t("wizard.immediate"),
        UrgencyLevel::Urgent => t("wizard.urgent"),
        UrgencyLevel::Routine => t("wizard.routine"),
    }
}

pub(super) fn step_urgency(draft: RwSignal<Draft>) -> impl IntoView {
    view! {
        <fieldset class="choices">
            <legend>{move || t("wizard.urgency_q")}</legend>
            {[UrgencyLevel::Immediate, UrgencyLevel::Urgent, UrgencyLevel::Routine].into_iter().map(|u| view! {
                <label class="choice">
                    <input type="radio" name="urgency" id=format!("urgency-{}", u.as_str())
                        prop:checked=move || draft.with(|d| d.urgency == u)
                        on:change=move |_| draft.update(|d| d.urgency = u) />
                    <strong>{move || i18n::urgency(u)}</strong> " — " {move || urgency_hint(u)}
                </label>
            }).collect_view()}
        </fieldset>
        <fieldset class="choices">
            <legend>{move || t("wizard.contact_q")}</legend>
            {CommunicationMethod::ALL.iter().map(|&c| view! {
                <label class="choice">
                    <input type="radio" name="contact" id=format!("contact-{}", c.as_str())
                        prop:checked=move || draft.with(|d| d.contact == c)
                        on:change=move |_| draft.update(|d| d.contact = c) />
                    {move || contact_label(c)}
                </label>
            }).collect_view()}
        </fieldset>
    }
}

pub(super) fn step_review(
    draft: RwSignal<Draft>,
    errors: Signal<Errors>,
    evidence: EvidenceState,
) -> impl IntoView {
    let d = draft.get_untracked();
    let services = d.services.clone();
    let services = move || {
        services
            .iter()
            .map(|&s| i18n::support_service(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (kind, urgency, contact) = (d.kind, d.urgency, d.contact);
    let problems = move || {
        let all = errors.get();
        let fields = [
            "type",
            "incident_date",
            "description",
            "location",
            "support_services",
        ];
        fields
            .iter()
            .flat_map(|f| messages(&all, f))
            .collect::<Vec<_>>()
    };
    view! {
        <dl id="review" class="review">
            <dt>{move || t("wizard.r_what")}</dt>
            <dd>{move || kind.map(i18n::incident_type).unwrap_or("—")}</dd>
            <dt>{move || t("wizard.r_when")}</dt><dd>{d.date.clone()} " " {d.time.clone()}</dd>
            <dt>{move || t("wizard.r_where")}</dt><dd>{d.address.clone()}</dd>
            <dt>{move || t("wizard.r_help")}</dt><dd>{services}</dd>
            <dt>{move || t("wizard.r_urgency")}</dt><dd>{move || i18n::urgency(urgency)}</dd>
            <dt>{move || t("wizard.r_contact")}</dt><dd>{move || contact_label(contact)}</dd>
        </dl>
        {move || {
            let p = problems();
            (!p.is_empty()).then(|| view! { <p class="field-error" role="alert">{p.join(" ")}</p> })
        }}
        <EvidencePart state=evidence/>
        <label class="check">
            <input id="anonymous" type="checkbox"
                prop:checked=move || draft.with(|d| d.anonymous)
                on:change=move |ev| draft.update(|d| d.anonymous = event_target_checked(&ev)) />
            {move || t("wizard.anonymous")}
        </label>
        <p class="hint">{move || t("wizard.privacy")}</p>
    }
}
