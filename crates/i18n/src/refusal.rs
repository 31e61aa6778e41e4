//! Refusals and field errors worded from their codes and params, in English and Swahili. The
//! match is exhaustive: a new code does not compile until it is worded in both languages. The
//! server's envelope carries the English (`message`); the app shows the user's language.

use kintara_api::{EvidenceKind, FieldError, Refusal, Role};

use crate::{incident_status, Lang};

fn pick(lang: Lang, en: String, sw: String) -> String {
    match lang {
        Lang::En => en,
        Lang::Sw => sw,
    }
}

/// Roles in the plural, joined: "dispatchers", "watoa huduma".
fn roles(lang: Lang, roles: &[Role]) -> String {
    let names: Vec<&str> = roles
        .iter()
        .filter(|r| **r != Role::Admin || roles.len() == 1)
        .map(|r| match (lang, r) {
            (Lang::En, Role::Survivor) => "survivors",
            (Lang::En, Role::Provider) => "providers",
            (Lang::En, Role::Dispatcher) => "dispatchers",
            (Lang::En, Role::Admin) => "administrators",
            (Lang::Sw, Role::Survivor) => "manusura",
            (Lang::Sw, Role::Provider) => "watoa huduma",
            (Lang::Sw, Role::Dispatcher) => "waratibu",
            (Lang::Sw, Role::Admin) => "wasimamizi",
        })
        .collect();
    names.join(match lang {
        Lang::En => " and ",
        Lang::Sw => " na ",
    })
}

/// A size for people: "64 KB", "50 MB".
fn size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        format!("{} MB", bytes / MB)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

pub fn refusal(lang: Lang, r: &Refusal) -> String {
    use Refusal::*;
    let (en, sw): (String, String) = match r {
        InvalidJson { detail } => (
            format!("The body is not valid JSON: {detail}"),
            format!("Maudhui si JSON halali: {detail}"),
        ),
        UnreadableBody {} => (
            "Could not read the body.".into(),
            "Maudhui hayakuweza kusomwa.".into(),
        ),
        InvalidMultipart {} => (
            "The upload could not be read as multipart/form-data.".into(),
            "Upakiaji haukuweza kusomwa kama multipart/form-data.".into(),
        ),
        UnsupportedMediaType { expected } => (
            format!("Send the body as {expected}."),
            format!("Tuma maudhui kama {expected}."),
        ),
        PayloadTooLarge { max_bytes } => (
            format!("The body can be at most {}.", size(*max_bytes)),
            format!("Maudhui yasizidi {}.", size(*max_bytes)),
        ),
        FileTooLarge { kind, max_bytes } => {
            let (en, sw) = match kind {
                EvidenceKind::Image => ("A photo", "Picha"),
                EvidenceKind::Audio => ("A recording", "Rekodi"),
                EvidenceKind::Document => ("A document", "Hati"),
            };
            (
                format!("{en} can be at most {}.", size(*max_bytes)),
                format!("{sw} isizidi {}.", size(*max_bytes)),
            )
        }
        UnsupportedFileType {} => (
            "This kind of file cannot be added. Send a photo (JPEG, PNG, WebP, HEIC, GIF), a voice \
             recording (MP3, M4A, AAC, Ogg, WAV, WebM, AMR, 3GP) or a PDF, DOCX or ODT document."
                .into(),
            "Aina hii ya faili haiwezi kuongezwa. Tuma picha (JPEG, PNG, WebP, HEIC, GIF), rekodi \
             ya sauti (MP3, M4A, AAC, Ogg, WAV, WebM, AMR, 3GP) au hati ya PDF, DOCX au ODT."
                .into(),
        ),
        ValidationFailed {} => (
            "Some fields need attention.".into(),
            "Baadhi ya sehemu zinahitaji kurekebishwa.".into(),
        ),
        NotFound {} => ("Not found.".into(), "Haikupatikana.".into()),
        MethodNotAllowed {} => (
            "This method is not allowed here.".into(),
            "Njia hii hairuhusiwi hapa.".into(),
        ),
        UpgradeRequired {} => (
            "This address takes a WebSocket upgrade.".into(),
            "Anwani hii inahitaji WebSocket.".into(),
        ),
        NotAuthenticated {} => ("Sign in to continue.".into(), "Ingia ili kuendelea.".into()),
        TokenExpired {} => (
            "Your session token has expired; refresh it.".into(),
            "Tokeni ya kipindi chako imekwisha muda; ifanye upya.".into(),
        ),
        InvalidToken {} => (
            "The token is not valid.".into(),
            "Tokeni si halali.".into(),
        ),
        TokenReused {} => (
            "This sign-in was used from somewhere else, so it has been ended. Please sign in again."
                .into(),
            "Kuingia huku kulitumika mahali pengine, kwa hiyo kumesitishwa. Tafadhali ingia tena."
                .into(),
        ),
        SessionRevoked {} => (
            "This session has ended; please sign in again.".into(),
            "Kipindi hiki kimekwisha; tafadhali ingia tena.".into(),
        ),
        BadSignature {} => (
            "This request is not signed by the service it claims to come from.".into(),
            "Ombi hili halijatiwa saini na huduma linayodai kutoka.".into(),
        ),
        InvalidCredentials {} => (
            "Wrong e-mail or password.".into(),
            "Barua pepe au nenosiri si sahihi.".into(),
        ),
        SignInPaused { minutes } => (
            format!("Too many failed sign-ins from here. Try again in {minutes} minutes."),
            format!("Majaribio mengi ya kuingia yameshindwa kutoka hapa. Jaribu tena baada ya dakika {minutes}."),
        ),
        AccountDisabled {} => (
            "This account cannot sign in now. Contact your administrator.".into(),
            "Akaunti hii haiwezi kuingia kwa sasa. Wasiliana na msimamizi wako.".into(),
        ),
        CannotWriteHere {} => (
            "You cannot write in this conversation.".into(),
            "Huwezi kuandika kwenye mazungumzo haya.".into(),
        ),
        ClosedCaseRecord {} => (
            "This case is closed: you keep its record, not what it holds.".into(),
            "Kesi hii imefungwa: unabaki na kumbukumbu yake, si yaliyomo.".into(),
        ),
        WrongPassword {} => (
            "The current password is wrong. Nothing was changed.".into(),
            "Nenosiri la sasa si sahihi. Hakuna kilichobadilishwa.".into(),
        ),
        CurrentSession {} => (
            "This is the session you are using; sign out to end it.".into(),
            "Hiki ndicho kipindi unachotumia; toka ili ukimalize.".into(),
        ),
        AccountInState { state } => (
            format!(
                "This cannot be done to an account that is {}.",
                crate::account_state(Lang::En, *state).to_lowercase()
            ),
            format!(
                "Hili haliwezi kufanywa kwa akaunti iliyo katika hali ya \"{}\".",
                crate::account_state(Lang::Sw, *state)
            ),
        ),
        EmailTaken {} => (
            "An account with this e-mail already exists.".into(),
            "Tayari kuna akaunti yenye barua pepe hii.".into(),
        ),
        OnlyRoles { roles: list } => (
            format!("Only {} can do this.", roles(Lang::En, list)),
            format!("Ni {} pekee wanaoweza kufanya hivi.", roles(Lang::Sw, list)),
        ),
        NotYourReport {} => (
            "Only the survivor who filed a report may change or withdraw it.".into(),
            "Ni manusura aliyewasilisha ripoti pekee anayeweza kuibadilisha au kuiondoa.".into(),
        ),
        NotYourEvidence {} => (
            "Only the survivor or whoever added it may delete this.".into(),
            "Ni manusura au aliyeiongeza pekee anayeweza kuifuta.".into(),
        ),
        CannotAddEvidence {} => (
            "Only the survivor and the providers on the case add evidence.".into(),
            "Ni manusura na watoa huduma wa kesi pekee wanaoongeza ushahidi.".into(),
        ),
        AcceptFirst {} => (
            "Accept the case first.".into(),
            "Kubali kesi kwanza.".into(),
        ),
        NotTheSender {} => (
            "Only the sender can delete a message.".into(),
            "Ni mtumaji pekee anayeweza kufuta ujumbe.".into(),
        ),
        NotWithYourself {} => (
            "A conversation is with someone else.".into(),
            "Mazungumzo ni na mtu mwingine.".into(),
        ),
        NoSharedCase {} => (
            "You can only start a chat with someone you work with on a case.".into(),
            "Unaweza kuanzisha mazungumzo tu na mtu mnayeshughulikia kesi pamoja.".into(),
        ),
        IllegalTransition { from, to } => (
            format!(
                "A case cannot go from {} to {}.",
                incident_status(Lang::En, *from).to_lowercase(),
                incident_status(Lang::En, *to).to_lowercase()
            ),
            format!(
                "Kesi haiwezi kutoka \"{}\" kwenda \"{}\".",
                incident_status(Lang::Sw, *from),
                incident_status(Lang::Sw, *to)
            ),
        ),
        CaseFinished {} => (
            "This case is finished and can no longer be changed.".into(),
            "Kesi hii imekamilika na haiwezi kubadilishwa tena.".into(),
        ),
        CaseClosed {} => (
            "This case is closed; no more evidence can be added.".into(),
            "Kesi hii imefungwa; ushahidi zaidi hauwezi kuongezwa.".into(),
        ),
        CaseChanged {} => (
            "The case changed meanwhile; reload it and try again.".into(),
            "Kesi ilibadilika wakati huo; ipakie upya na ujaribu tena.".into(),
        ),
        AlreadyAccepted {} => (
            "You have already accepted this case.".into(),
            "Tayari umeikubali kesi hii.".into(),
        ),
        AssignmentGone {} => (
            "This assignment was answered or withdrawn meanwhile.".into(),
            "Ukabidhiwaji huu ulijibiwa au kuondolewa wakati huo.".into(),
        ),
        ProviderUnavailable {} => (
            "That provider is unavailable or at their maximum case load.".into(),
            "Mtoa huduma huyo hapatikani au amefikia idadi yake ya juu ya kesi.".into(),
        ),
        AlreadyAssigned {} => (
            "That provider already has this case.".into(),
            "Mtoa huduma huyo tayari ana kesi hii.".into(),
        ),
        NotAssigned {} => (
            "That provider has no live assignment on this case.".into(),
            "Mtoa huduma huyo hana ukabidhiwaji hai kwenye kesi hii.".into(),
        ),
        NotReassignable {} => (
            "Only an assigned or in-progress case can be reassigned.".into(),
            "Ni kesi iliyokabidhiwa au inayoendelea pekee inayoweza kukabidhiwa upya.".into(),
        ),
        RoomReadOnly {} => (
            "This conversation is closed with its case; its history stays readable.".into(),
            "Mazungumzo haya yamefungwa pamoja na kesi yake; historia yake bado inasomeka.".into(),
        ),
        CaseRoomStays {} => (
            "A case conversation stays open while the case does.".into(),
            "Mazungumzo ya kesi yanabaki wazi mradi kesi iko wazi.".into(),
        ),
        NoCaseRoomYet {} => (
            "This case has no conversation yet: it opens when a provider accepts the case.".into(),
            "Kesi hii bado haina mazungumzo: yanaanza mtoa huduma akikubali kesi.".into(),
        ),
        TooManyUploads {} => (
            "Other files are still uploading; this one will follow shortly.".into(),
            "Faili nyingine bado zinapakiwa; hii itafuata hivi karibuni.".into(),
        ),
        RateLimited {} => (
            "Too many requests. Nothing was changed; wait a moment and try again.".into(),
            "Maombi ni mengi mno. Hakuna kilichobadilishwa; subiri kidogo ujaribu tena.".into(),
        ),
        EvidenceQuotaFull { max_bytes } => (
            format!(
                "No more room for evidence here (at most {} MB). Nothing was added.",
                max_bytes / 1_000_000
            ),
            format!(
                "Hakuna nafasi zaidi ya ushahidi hapa (isizidi MB {}). Hakuna kilichoongezwa.",
                max_bytes / 1_000_000
            ),
        ),
        ServiceUnavailable {} => (
            "The server is busy. Nothing was changed; it will be tried again shortly.".into(),
            "Seva ina shughuli nyingi. Hakuna kilichobadilishwa; itajaribiwa tena hivi karibuni."
                .into(),
        ),
        InternalError {} => (
            "Something went wrong on our side. Nothing was changed; please try again.".into(),
            "Hitilafu imetokea upande wetu. Hakuna kilichobadilishwa; tafadhali jaribu tena."
                .into(),
        ),
    };
    pick(lang, en, sw)
}

pub fn field_error(lang: Lang, e: &FieldError) -> String {
    use FieldError::*;
    let (en, sw): (String, String) = match e {
        Required {} => (
            "This field is required.".into(),
            "Sehemu hii inahitajika.".into(),
        ),
        TooShort { min } => (
            format!("Must be at least {min} characters."),
            format!("Iwe angalau herufi {min}."),
        ),
        TooLong { max } => (
            format!("Must be at most {max} characters."),
            format!("Isizidi herufi {max}."),
        ),
        OutOfRange { min, max } => (
            format!("Must be between {min} and {max}."),
            format!("Iwe kati ya {min} na {max}."),
        ),
        TooMany { max } => (
            format!("At most {max} at once."),
            format!("Isizidi {max} kwa wakati mmoja."),
        ),
        NotAnEmail {} => (
            "Enter a valid e-mail address.".into(),
            "Weka barua pepe halali.".into(),
        ),
        NotAPhoneNumber {} => (
            "Enter the number in international form, like +254712345678.".into(),
            "Weka namba kwa mfumo wa kimataifa, kama +254712345678.".into(),
        ),
        PasswordsDiffer {} => (
            "Passwords do not match.".into(),
            "Manenosiri hayalingani.".into(),
        ),
        PinsDiffer {} => (
            "The two PINs do not match.".into(),
            "PIN hizo mbili hazilingani.".into(),
        ),
        AnonymousOnlyForSurvivors {} => (
            "Only survivors can register anonymously.".into(),
            "Ni manusura pekee wanaoweza kujisajili bila kujulikana.".into(),
        ),
        ProviderTypeOnlyForProviders {} => (
            "Only providers have a provider type.".into(),
            "Ni watoa huduma pekee walio na aina ya huduma.".into(),
        ),
        ProviderTypeNeeded {} => (
            "Choose the kind of help you give.".into(),
            "Chagua aina ya msaada unaotoa.".into(),
        ),
        NotSelfService {} => (
            "Dispatcher and admin accounts are created by an administrator.".into(),
            "Akaunti za waratibu na wasimamizi huundwa na msimamizi.".into(),
        ),
        NeedAPlace {} => (
            "Give an address or share your location.".into(),
            "Weka anwani au shiriki mahali ulipo.".into(),
        ),
        NoneChosen {} => (
            "Choose at least one.".into(),
            "Chagua angalau kimoja.".into(),
        ),
        ListedTwice { value } => (
            format!("{value} is listed twice."),
            format!("{value} imeorodheshwa mara mbili."),
        ),
        ChooseAnother {} => ("Choose a different one.".into(), "Chagua nyingine.".into()),
        Blank {} => (
            "Leave it out or give a non-blank value.".into(),
            "Iache au weka thamani isiyo tupu.".into(),
        ),
        InTheFuture {} => (
            "The date cannot be in the future.".into(),
            "Tarehe haiwezi kuwa ya siku zijazo.".into(),
        ),
        NotARealDate {} => ("Enter a real date.".into(), "Weka tarehe halisi.".into()),
        NothingToChange {} => (
            "Nothing to change.".into(),
            "Hakuna cha kubadilisha.".into(),
        ),
        ControlCharacters {} => (
            "It has control characters.".into(),
            "Ina herufi za udhibiti.".into(),
        ),
        NotACursor {} => (
            "A cursor is a non-negative integer.".into(),
            "Kiashiria ni namba kamili isiyo hasi.".into(),
        ),
        NotAnId {} => ("Not a valid id.".into(), "Si kitambulisho halali.".into()),
        UnknownValue {} => ("Unknown value.".into(), "Thamani isiyojulikana.".into()),
        NotABoolean {} => ("Use true or false.".into(), "Tumia true au false.".into()),
        OneOrTheOther {} => (
            "Give one of them, not both.".into(),
            "Weka kimoja tu, si vyote viwili.".into(),
        ),
        OnlyOne {} => ("Send only one.".into(), "Tuma kimoja tu.".into()),
        FileEmpty {} => ("The file is empty.".into(), "Faili ni tupu.".into()),
        Taken {} => (
            "This e-mail already has an account.".into(),
            "Barua pepe hii tayari ina akaunti.".into(),
        ),
        NotAProvider { id } => (
            format!("{id} is not an active provider."),
            format!("{id} si mtoa huduma aliye hai."),
        ),
        Invalid { detail } => (
            format!("Not valid: {detail}."),
            format!("Si halali: {detail}."),
        ),
    };
    pick(lang, en, sw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kintara_api::IncidentStatus;

    #[test]
    fn codes_are_worded_with_their_params_in_both_languages() {
        let moved = Refusal::IllegalTransition {
            from: IncidentStatus::Closed,
            to: IncidentStatus::InProgress,
        };
        assert_eq!(
            refusal(Lang::En, &moved),
            "A case cannot go from closed to in progress."
        );
        assert!(refusal(Lang::Sw, &moved).starts_with("Kesi haiwezi"));
        let staff = Refusal::OnlyRoles {
            roles: vec![Role::Dispatcher, Role::Admin],
        };
        assert_eq!(refusal(Lang::En, &staff), "Only dispatchers can do this.");
        assert_eq!(
            field_error(Lang::Sw, &FieldError::TooLong { max: 5000 }),
            "Isizidi herufi 5000."
        );
        assert_eq!(
            refusal(Lang::En, &Refusal::PayloadTooLarge { max_bytes: 65536 }),
            "The body can be at most 64 KB."
        );
    }
}
